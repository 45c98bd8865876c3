import { h } from "../dom";
import { parseInvite } from "../invite";
import type { Platform } from "../platform";

import { nameKey } from "./guestlobby";

export interface LobbyOptions {
  platform: Platform;
  version: string;
  storage: Pick<Storage, "getItem" | "setItem">;
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
  nameInput.value = opts.storage.getItem(nameKey) ?? "";
  nameInput.addEventListener("change", () => opts.storage.setItem(nameKey, nameInput.value.trim()));

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
        status.textContent =
          opts.platform.kind === "desktop"
            ? "Hosting from the window needs the meeting engine, which is not built into this version yet."
            : "To host, run the Parley app (or `parley serve`) on your computer.";
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
          status.textContent = `Room “${invite.room}” at ${invite.origin}: joining is not built into this version yet.`;
        } catch (e) {
          status.textContent = e instanceof Error ? e.message : String(e);
        }
      },
    },
    inviteInput,
    h("button", { type: "submit", id: "join" }, "Join by link"),
  );

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
        h("ul", { id: "nearby-rooms", class: "rooms" }),
        h("p", { class: "empty" }, "No meetings found on this network yet."),
      ),
    ),
  );
}
