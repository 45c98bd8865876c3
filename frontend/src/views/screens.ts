// Full-page screens: errors with a next step, and the password prompt.

import { h } from "../dom";
import { nextStepLabel, waitSeconds, type NextStep, type ScreenText } from "../meeting/errors";

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

// The lobby of a room with a lobby: wait until a host lets us in.
export function renderWaiting(root: HTMLElement, opts: { room: string; onCancel: () => void }): void {
  const cancel = h("button", { type: "button", class: "secondary", "data-action": "cancel", onclick: opts.onCancel }, "Cancel");
  root.replaceChildren(
    h(
      "section",
      { class: "error-screen waiting-screen", "data-view": "waiting", role: "status", "aria-labelledby": "wait-title" },
      h("div", { class: "spinner", "aria-hidden": "true" }),
      h("h1", { id: "wait-title" }, "Waiting for the host to let you in…"),
      // Whether a host is in the room the page cannot know: a host who
      // joins later sees the knock then.
      h("p", {}, `You are in the waiting room of “${opts.room}”. A host sees that you are here once they are in the meeting, and you join as soon as they let you in.`),
      h("div", { class: "screen-actions" }, cancel),
    ),
  );
  cancel.focus();
}

// The password prompt, after the join error that asked for it. wrong: the
// last password was wrong. A rate-limited error means too many wrong
// passwords: the server refuses tries for a while (the button counts
// down what its message says).
export function renderPasswordPrompt(
  root: HTMLElement,
  opts: {
    room: string;
    wrong: boolean;
    error: { code: string; message: string };
    onSubmit: (password: string) => void;
    onCancel: () => void;
  },
): void {
  const wait = opts.error.code === "rate-limited" ? waitSeconds(opts.error.message) : undefined;
  const input = h("input", {
    id: "room-password",
    type: "password",
    autocomplete: "current-password",
    maxlength: "256",
    "aria-label": "Meeting password",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Join");
  const form = h(
    "form",
    {
      class: "password-form",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        if (input.value === "" || submit.disabled) return;
        opts.onSubmit(input.value);
      },
    },
    h("label", { for: "room-password" }, "Password"),
    input,
    submit,
  );
  let error: HTMLElement | null = null;
  let countdown: () => void = () => undefined;
  if (wait !== undefined) {
    const el = h("p", { class: "form-error", role: "alert", "data-error": "rate-limited" });
    const until = Date.now() + wait * 1000;
    countdown = () => {
      if (!el.isConnected) return; // the screen is gone
      const left = Math.ceil((until - Date.now()) / 1000);
      submit.disabled = left > 0;
      el.textContent = left > 0 ? `Too many wrong passwords. Wait ${left} s, then try again.` : "You can try again now.";
      if (left > 0) window.setTimeout(countdown, 250);
    };
    error = el;
  } else if (opts.wrong) {
    error = h("p", { class: "form-error", role: "alert", "data-error": "bad-password" }, "That password is wrong. Try again.");
  }
  root.replaceChildren(
    h(
      "section",
      { class: "lobby password-screen", "data-view": "password", "aria-labelledby": "pw-title" },
      h("h1", { id: "pw-title" }, "This meeting has a password"),
      h("p", { class: "status" }, `Enter the password for “${opts.room}”. The host can tell you what it is.`),
      error,
      form,
      h("button", { type: "button", class: "link", onclick: opts.onCancel }, "Back to the lobby"),
    ),
  );
  countdown();
  input.focus();
}
