// What each way of not being (or no longer being) in the meeting looks like
// to the user, with a clear next step.

import type { EngineErrorCode } from "../engine/types";
import type { EndReason } from "../protocol";

export type NextStep = "retry" | "rejoin" | "lobby" | "password";

export interface ScreenText {
  view: string; // data-view of the screen, for tests and tools
  title: string;
  message: string;
  next: NextStep[]; // buttons, first one primary
}

export function joinErrorScreen(code: EngineErrorCode, message: string): ScreenText {
  switch (code) {
    case "room-full":
      return {
        view: "room-full",
        title: "This meeting is full",
        message: "The room has reached its participant limit. Try again when someone leaves.",
        next: ["retry", "lobby"],
      };
    case "bad-password":
      return { view: "password", title: "Password needed", message, next: ["password", "lobby"] };
    case "bad-token":
      return {
        view: "bad-token",
        title: "This invite link doesn't work",
        message:
          "The invitation in this link is not valid for this meeting: it may be damaged, or from before the host restarted Parley. Ask the host for a new invite link.",
        next: ["lobby"],
      };
    case "bad-link":
      return {
        view: "bad-link",
        title: "This invite link doesn't work",
        message: /ask the host/i.test(message) ? message : `${message} Ask the host to send it again.`,
        next: ["lobby"],
      };
    case "identity":
      return {
        view: "identity",
        title: "This isn't the host the link names",
        message:
          "The meeting server's certificate does not match the invite link, so Parley did not connect. The host may have set up Parley again, or someone may be in between. Ask the host for a new invite link.",
        next: ["lobby"],
      };
    case "untrusted":
      return {
        view: "untrusted",
        title: "The invite link is incomplete",
        message: "Parley checks the host with the part of the link after “#fp=”, and this link has none. Paste the whole invite link the host sent.",
        next: ["lobby"],
      };
    case "token-expired":
      return {
        view: "token-expired",
        title: "This invite link has expired",
        message: "Invite links work for a limited time. Ask the host for a new invite link.",
        next: ["lobby"],
      };
    case "token-used":
      return {
        view: "token-used",
        title: "This invite link was already used",
        message: "It was a one-time link, and someone has already joined with it. Ask the host for a new invite link.",
        next: ["lobby"],
      };
    case "rate-limited":
      return {
        view: "rate-limited",
        title: "Too many tries",
        message: `${message} Wait a little, then try again.`,
        next: ["retry", "lobby"],
      };
    case "denied":
      return {
        view: "denied",
        title: "The meeting is locked",
        message: "The host has locked this meeting, so nobody new can join. Ask the host to unlock it.",
        next: ["retry", "lobby"],
      };
    case "not-found":
      return {
        view: "not-found",
        title: "Meeting not found",
        message: "No meeting of this name is running there: the meeting is over, or the link is mistyped. Ask the host for a new link.",
        next: ["lobby"],
      };
    case "version":
      return {
        view: "version",
        title: "This page is out of date",
        message: "The meeting server speaks a different protocol version. Reload the page to get the current version.",
        next: ["retry"],
      };
    case "connection-lost":
      return {
        view: "unreachable",
        title: "Can't reach the meeting",
        message: "The meeting server did not answer, or no longer had your place when you got back (it restarted, or you were away too long). Check your network and that the host is still running the meeting.",
        next: ["retry", "lobby"],
      };
    case "media":
    case "unsupported":
      return { view: "media-error", title: "Camera or microphone problem", message, next: ["retry", "lobby"] };
    default:
      return {
        view: "join-error",
        title: "Could not join",
        message: message || "Something went wrong on the meeting server.",
        next: ["retry", "lobby"],
      };
  }
}

// A host turned the joiner away from the lobby, or nobody let them in in
// time.
export function lobbyDeniedScreen(): ScreenText {
  return {
    view: "lobby-denied",
    title: "The host didn't let you in",
    message: "A host turned down your request to join, or nobody answered in time. You can ask again.",
    next: ["retry", "lobby"],
  };
}

// Reconnecting gave up (the engine tried for a minute).
export function connectionLostScreen(): ScreenText {
  return {
    view: "connection-lost",
    title: "Connection lost",
    message: "Parley could not get back into the meeting. Check your network connection, then try again.",
    next: ["retry", "lobby"],
  };
}

// How long a rate-limited hello must wait: the server says it in the
// message ("try again in 27 s"); 30 s is its default.
export function waitSeconds(message: string): number {
  const m = /(\d+)\s*s\b/.exec(message);
  const n = m ? Number(m[1]) : NaN;
  return Number.isFinite(n) && n > 0 && n <= 3600 ? n : 30;
}

// byYou: this page's host ended it (they would not be "the host" to
// themselves).
export function endedScreen(reason: EndReason, byYou = false): ScreenText {
  switch (reason) {
    case "host-ended":
      if (byYou) {
        return {
          view: "host-ended",
          title: "You ended the meeting for everyone",
          message: "Thanks for hosting.",
          next: ["lobby"],
        };
      }
      return {
        view: "host-ended",
        title: "The host ended the meeting",
        message: "Thanks for joining.",
        next: ["lobby"],
      };
    case "removed":
      return {
        view: "removed",
        title: "You were removed from the meeting",
        message: "A host removed you. You can ask them to let you back in.",
        next: ["lobby"],
      };
    case "shutdown":
      return {
        view: "shutdown",
        title: "The meeting server stopped",
        message: "The host's Parley stopped. If it comes back, you can join again.",
        next: ["rejoin", "lobby"],
      };
  }
}

export function leftScreen(): ScreenText {
  return { view: "left", title: "You left the meeting", message: "", next: ["rejoin", "lobby"] };
}

export const nextStepLabel: Record<NextStep, string> = {
  retry: "Try again",
  rejoin: "Rejoin",
  lobby: "Back to the lobby",
  password: "Join",
};
