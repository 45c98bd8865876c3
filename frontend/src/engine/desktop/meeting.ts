// Straight into a meeting from the command line (parley --host / --join):
// the desktop engine, the UI's Store and MeetingView, and the UI's end
// screens, wired the way guest.ts wires a browser guest. "Back to the
// lobby" calls onLobby.

import { EngineError } from "../types";
import { Comeback } from "../../meeting/comeback";
import { endedScreen, joinErrorScreen, leftScreen, lobbyDeniedScreen } from "../../meeting/errors";
import { Store } from "../../meeting/store";
import { MeetingView } from "../../views/meeting";
import { renderPasswordPrompt, renderScreen, renderWaiting } from "../../views/screens";
import { DesktopEngine } from "./engine";
import type { LaunchPlan } from "./launch";

export function startDesktopMeeting(root: HTMLElement, plan: LaunchPlan, onLobby: () => void): DesktopEngine {
  const engine = new DesktopEngine();
  engine.setTarget(plan.target);
  let store = new Store();
  let meeting: MeetingView | null = null;
  const comeback = new Comeback(() => engine.meetingAnswers());

  const clear = () => {
    comeback.stop();
    meeting?.destroy();
    meeting = null;
    store.detach();
  };

  const showEnd = (text: ReturnType<typeof leftScreen>) => {
    clear();
    // Only a meeting this window joined can come back: one it hosts ended
    // with this app.
    const shown = plan.target.kind === "join" ? comeback.show(text, () => void join()) : text;
    renderScreen(root, shown, {
      retry: comeback.chosen(() => void join()),
      rejoin: comeback.chosen(() => void join()),
      lobby: comeback.chosen(() => {
        engine.dispose();
        onLobby();
      }),
    });
  };

  // A room with a password asks for it, as a browser guest's page does
  // (and again when it was wrong); Cancel goes back to the lobby.
  let triedPassword = plan.join.password !== undefined && plan.join.password !== "";
  const askPassword = (err: EngineError) => {
    clear();
    renderPasswordPrompt(root, {
      room: plan.join.room,
      wrong: triedPassword,
      error: err,
      onSubmit: (pw) => {
        plan.join.password = pw;
        triedPassword = true;
        void join();
      },
      onCancel: () => {
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
    // A room with a waiting room: say so, with Cancel, until a host
    // decides (the store keeps listening for the welcome meanwhile).
    let waited = false;
    let cancelled = false;
    const offWaiting = engine.on((ev) => {
      if (ev.type !== "waiting") return;
      waited = true;
      renderWaiting(root, {
        room: plan.join.room,
        onCancel: () => {
          cancelled = true;
          engine.leave();
          engine.dispose();
          onLobby();
        },
      });
    });
    try {
      await engine.join(plan.join);
    } catch (e) {
      store.detach();
      if (cancelled) return;
      const err = e instanceof EngineError ? e : new EngineError("internal", String(e));
      if (err.code === "denied" && waited) {
        showEnd(lobbyDeniedScreen());
        return;
      }
      if (err.endReason) {
        showEnd(endedScreen(err.endReason));
        return;
      }
      // Hosting sets the password; only a joiner is asked for it.
      if (plan.target.kind === "join" && (err.code === "bad-password" || (err.code === "rate-limited" && triedPassword))) {
        askPassword(err);
        return;
      }
      showEnd(joinErrorScreen(err.code, err.message));
      return;
    } finally {
      offWaiting();
    }
    comeback.reset();
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
