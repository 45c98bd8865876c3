// Straight into a meeting from the command line (parley --host / --join):
// the desktop engine, the UI's Store and MeetingView, and the UI's end
// screens, wired the way guest.ts wires a browser guest. "Back to the
// lobby" calls onLobby.

import { EngineError } from "../types";
import { endedScreen, joinErrorScreen, leftScreen } from "../../meeting/errors";
import { Store } from "../../meeting/store";
import { MeetingView } from "../../views/meeting";
import { renderScreen } from "../../views/screens";
import { DesktopEngine } from "./engine";
import type { LaunchPlan } from "./launch";

export function startDesktopMeeting(root: HTMLElement, plan: LaunchPlan, onLobby: () => void): DesktopEngine {
  const engine = new DesktopEngine();
  engine.setTarget(plan.target);
  let store = new Store();
  let meeting: MeetingView | null = null;

  const clear = () => {
    meeting?.destroy();
    meeting = null;
    store.detach();
  };

  const showEnd = (text: ReturnType<typeof leftScreen>) => {
    clear();
    renderScreen(root, text, {
      retry: () => void join(),
      rejoin: () => void join(),
      lobby: () => {
        engine.dispose();
        onLobby();
      },
    });
  };

  const join = async () => {
    clear();
    renderScreen(root, { view: "joining", title: plan.target.kind === "host" ? "Starting the meeting…" : "Joining…", message: "", next: [] }, {});
    store = new Store();
    store.attach(engine);
    try {
      await engine.join(plan.join);
    } catch (e) {
      store.detach();
      const err = e instanceof EngineError ? e : new EngineError("internal", String(e));
      showEnd(joinErrorScreen(err.code, err.message));
      return;
    }
    meeting = new MeetingView(root, engine, store, {
      onLeave: () => showEnd(leftScreen()),
      onEnded: (reason, byYou) => showEnd(endedScreen(reason, byYou)),
      onFatal: (code, message) => showEnd(joinErrorScreen(code, message)),
    });
    if (plan.stats) meeting.setStatsOverlay(true);
  };

  window.addEventListener("pagehide", () => engine.leave());
  void join();
  return engine;
}
