// Full-page screens: errors with a next step, and the password prompt.

import { h } from "../dom";
import { nextStepLabel, type NextStep, type ScreenText } from "../meeting/errors";

export function renderScreen(
  root: HTMLElement,
  text: ScreenText,
  actions: Partial<Record<NextStep, () => void>>,
): void {
  const buttons = text.next
    .filter((n) => actions[n])
    .map((n, i) =>
      h(
        "button",
        { type: "button", class: i === 0 ? "primary" : "secondary", "data-action": n, onclick: () => actions[n]?.() },
        nextStepLabel[n],
      ),
    );
  root.replaceChildren(
    h(
      "section",
      { class: "error-screen", "data-view": text.view, role: "alert", "aria-labelledby": "screen-title" },
      h("h1", { id: "screen-title" }, text.title),
      text.message ? h("p", {}, text.message) : null,
      h("div", { class: "screen-actions" }, ...buttons),
    ),
  );
  buttons[0]?.focus();
}

export function renderPasswordPrompt(
  root: HTMLElement,
  opts: { room: string; wrong: boolean; onSubmit: (password: string) => void; onCancel: () => void },
): void {
  const input = h("input", {
    id: "room-password",
    type: "password",
    autocomplete: "current-password",
    maxlength: "256",
    "aria-label": "Meeting password",
    required: true,
  });
  const form = h(
    "form",
    {
      class: "password-form",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        if (input.value === "") return;
        opts.onSubmit(input.value);
      },
    },
    h("label", { for: "room-password" }, "Password"),
    input,
    h("button", { type: "submit", class: "primary" }, "Join"),
  );
  root.replaceChildren(
    h(
      "section",
      { class: "lobby password-screen", "data-view": "password", "aria-labelledby": "pw-title" },
      h("h1", { id: "pw-title" }, "This meeting has a password"),
      h("p", { class: "status" }, `Enter the password for “${opts.room}”. The host can tell you what it is.`),
      opts.wrong ? h("p", { class: "form-error", role: "alert", "data-error": "bad-password" }, "That password is wrong. Try again.") : null,
      form,
      h("button", { type: "button", class: "link", onclick: opts.onCancel }, "Back to the lobby"),
    ),
  );
  input.focus();
}
