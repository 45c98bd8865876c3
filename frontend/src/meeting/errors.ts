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
      return { view: "password", title: "Password needed", message, next: ["password"] };
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
        title: "This meeting has ended",
        message: "The room does not exist any more. Ask the host for a new link.",
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
        message: "The meeting server did not answer. Check your network and that the host is still running the meeting.",
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

export function endedScreen(reason: EndReason): ScreenText {
  switch (reason) {
    case "host-ended":
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
