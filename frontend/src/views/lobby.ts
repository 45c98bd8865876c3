import { h } from "../dom";
import { parseInvite } from "../invite";
import type { Platform } from "../platform";

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

  const hostButton = h(
    "button",
    {
      id: "host",
      class: "primary",
      onclick: () => {
        const plan = planLaunch({ action: "host", name: currentName(), defaultName: opts.defaultName });
        if (opts.startMeeting && plan) {
          opts.startMeeting(plan);
          return;
        }
        status.textContent = "To host, run the Parley app (or `parley serve`) on your computer.";
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
