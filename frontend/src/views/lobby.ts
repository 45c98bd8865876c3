import { h } from "../dom";
import { parseInvite } from "../invite";
import type { Platform } from "../platform";
import { isValidRoomName } from "../protocol";

import { nameKey } from "./guestlobby";
import { planLaunch, type LaunchPlan } from "../engine/desktop/launch";
import { mountNearby } from "./nearby";

export interface LobbyOptions {
  platform: Platform;
  version: string;
  storage: Pick<Storage, "getItem" | "setItem">;
  // Offered when no name is remembered (the desktop window: the system
  // user's name).
  defaultName?: string | undefined;
  // startMeeting hosts or joins from the desktop window (undefined in a
  // browser, where joining a link opens its page).
  startMeeting?: ((plan: LaunchPlan) => void) | undefined;
}

export function renderLobby(root: HTMLElement, opts: LobbyOptions): void {
  const nameInput = h("input", {
    id: "display-name",
    type: "text",
    maxlength: "64",
    autocomplete: "nickname",
    placeholder: "Your name",
    "aria-label": "Your name",
  });
  nameInput.value = opts.storage.getItem(nameKey) || (opts.defaultName ?? "");
  nameInput.addEventListener("change", () => opts.storage.setItem(nameKey, nameInput.value.trim()));
  const currentName = (): string => {
    const name = nameInput.value.trim();
    if (name) opts.storage.setItem(nameKey, name);
    return name;
  };

  const status = h("p", { class: "status", role: "status" });
  const inviteInput = h("input", {
    id: "invite-link",
    type: "url",
    placeholder: "https://host:port/r/room-name",
    "aria-label": "Invite link",
  });

  const hostOptions = opts.startMeeting ? renderHostOptions(opts.storage) : null;
  const hostButton = h(
    "button",
    {
      id: "host",
      class: "primary",
      onclick: () => {
        if (!opts.startMeeting || !hostOptions) {
          status.textContent = "To host, run the Parley app (or `parley serve`) on your computer.";
          return;
        }
        const choice = hostOptions.read();
        if (!choice) return;
        const plan = planLaunch({ action: "host", name: currentName(), defaultName: opts.defaultName, ...choice });
        if (plan) opts.startMeeting(plan);
      },
    },
    "Host a meeting",
  );

  const joinForm = h(
    "form",
    {
      class: "join",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        try {
          const invite = parseInvite(inviteInput.value);
          if (opts.platform.kind === "browser") {
            // In a browser, joining a link means opening it: the page at
            // /r/ROOM is the guest lobby for that room.
            const target = new URL(`/r/${encodeURIComponent(invite.room)}`, invite.origin);
            const name = nameInput.value.trim();
            if (name) target.searchParams.set("name", name);
            status.textContent = `Opening room “${invite.room}”…`;
            window.location.assign(target.href);
            return;
          }
          const plan = planLaunch({ action: "join", url: inviteInput.value.trim(), name: currentName(), defaultName: opts.defaultName });
          if (opts.startMeeting && plan) opts.startMeeting(plan);
        } catch (e) {
          status.textContent = e instanceof Error ? e.message : String(e);
        }
      },
    },
    inviteInput,
    h("button", { type: "submit", id: "join" }, "Join by link"),
  );

  const roomList = h("ul", { id: "nearby-rooms", class: "rooms" });
  const platform = opts.platform;
  if (platform.kind === "desktop" && platform.lan) {
    const stop = mountNearby(
      roomList,
      platform.lan,
      (room) => {
        const plan = planLaunch({ action: "join", url: room.url, name: currentName(), defaultName: opts.defaultName });
        if (opts.startMeeting && plan) {
          stop();
          opts.startMeeting(plan);
        }
      },
      (message) => {
        status.textContent = `Cannot look for meetings on this network: ${message}`;
      },
    );
  }

  root.replaceChildren(
    h(
      "section",
      { class: "lobby", "data-view": "lobby" },
      h("header", {}, h("h1", {}, "Parley"), h("span", { class: "version" }, opts.version)),
      h("label", { for: "display-name" }, "Name"),
      nameInput,
      h("div", { class: "actions" }, hostButton),
      hostOptions?.el ?? null,
      joinForm,
      status,
      h(
        "section",
        { class: "nearby", "aria-labelledby": "nearby-title" },
        h("h2", { id: "nearby-title" }, "On this network"),
        roomList,
        h("p", { class: "empty" }, "No meetings found on this network yet."),
      ),
    ),
  );
}

export interface HostChoice {
  room: string;
  password: string;
  lobby: boolean;
}

const hostKey = "parley.host";

// The room name as the user typed it, made into one: spaces become "-"
// (PROTOCOL.md §6: 1–64 letters, digits, "-", "_" or ".", not starting
// with "."). "" means the default room.
export function roomName(typed: string): string {
  const name = typed.trim().replace(/\s+/g, "-");
  if (name === "") return "";
  if (!isValidRoomName(name)) {
    throw new Error("A meeting name is up to 64 letters, digits, “-”, “_” or “.”, and does not start with “.”.");
  }
  return name;
}

// "Meeting options" under the desktop lobby's Host button: the room's name
// (part of the invite link), a password, a waiting room. The name and the
// waiting room are remembered, so that hosting again gives the same link
// (the window also keeps its port); the password is not.
// read is null, and says why next to the field, when the name is not one.
function renderHostOptions(storage: Pick<Storage, "getItem" | "setItem">): { el: HTMLDetailsElement; read: () => HostChoice | null } {
  let saved: { room?: unknown; lobby?: unknown } = {};
  try {
    saved = JSON.parse(storage.getItem(hostKey) ?? "{}") as typeof saved;
  } catch {
    // a damaged entry: the defaults
  }
  const room = h("input", { id: "host-room", type: "text", maxlength: "64", placeholder: "meeting", autocomplete: "off", spellcheck: "false" });
  room.value = typeof saved.room === "string" ? saved.room : "";
  const roomError = h("p", { class: "field-error", id: "host-room-error", role: "alert", hidden: true });
  room.addEventListener("input", () => {
    roomError.hidden = true;
    room.removeAttribute("aria-invalid");
  });
  const password = h("input", { id: "host-password", type: "text", maxlength: "256", placeholder: "none", autocomplete: "off", spellcheck: "false" });
  const lobby = h("input", { id: "host-lobby", type: "checkbox" });
  lobby.checked = saved.lobby === true;
  const el = h(
    "details",
    { class: "host-options" },
    h("summary", {}, "Meeting options"),
    h(
      "div",
      { class: "host-fields" },
      h("label", { for: "host-room" }, "Meeting name (in the invite link)"),
      room,
      roomError,
      h("label", { for: "host-password" }, "Password"),
      password,
      h("label", { class: "check" }, lobby, h("span", {}, "Waiting room: you let each person in")),
    ),
  );
  return {
    el,
    read: () => {
      let name: string;
      try {
        name = roomName(room.value);
      } catch (e) {
        el.open = true;
        roomError.textContent = e instanceof Error ? e.message : String(e);
        roomError.hidden = false;
        room.setAttribute("aria-invalid", "true");
        room.setAttribute("aria-describedby", roomError.id);
        room.focus();
        return null;
      }
      const choice = { room: name, password: password.value, lobby: lobby.checked };
      try {
        storage.setItem(hostKey, JSON.stringify({ room: choice.room, lobby: choice.lobby }));
      } catch {
        // not remembered
      }
      return choice;
    },
  };
}
