// What the command line asked the window to do: `parley --host` and
// `parley --join URL` open the window straight into a meeting.

import type { JoinOptions } from "../types";
import { desktopBindings, type DesktopLaunch } from "./bindings";
import type { DesktopTarget } from "./engine";

export interface LaunchPlan {
  target: DesktopTarget;
  join: JoinOptions;
  // Open the meeting with the stats overlay on (parley --stats).
  stats: boolean;
}

// What the command line asked for, or null outside the desktop window.
export async function desktopIntent(win: Window = window): Promise<DesktopLaunch | null> {
  const go = desktopBindings(win);
  return go ? go.LaunchIntent() : null;
}

// Pure: the engine target and join options of a launch request.
export function planLaunch(l: DesktopLaunch): LaunchPlan | null {
  const name = l.name || l.defaultName || "Parley user";
  switch (l.action) {
    case "host":
      return {
        target: { kind: "host", password: l.password ?? "", lobby: l.lobby ?? false },
        join: { room: l.room || "meeting", name, password: l.password ?? "" },
        stats: !!l.stats,
      };
    case "join": {
      if (!l.url) return null;
      const room = /\/r\/([^/?#]+)/.exec(l.url)?.[1];
      return {
        target: { kind: "join", url: l.url },
        join: { room: room ? decodeURIComponent(room) : "", name, password: l.password ?? "" },
        stats: !!l.stats,
      };
    }
    default:
      return null;
  }
}
