import "./style.css";
import { checkVideoDecoding } from "./codeccheck";
import { desktopIntent, planLaunch, startDesktopMeeting } from "./engine/desktop";
import { guestParams, roomFromPath, startGuest } from "./guest";
import { detectPlatform } from "./platform";
import { nameKey } from "./views/guestlobby";
import { renderLobby } from "./views/lobby";
import { renderUnsupported } from "./views/unsupported";

async function start(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) throw new Error("index.html has no #app element");
  const platform = detectPlatform();
  // A browser that opened an invite link (/r/ROOM) is a guest of that room.
  const room = platform.kind === "browser" ? roomFromPath(window.location.pathname) : null;
  if (room !== null) {
    startGuest(root, room, guestParams(window.location.search, window.location.hash), window.localStorage);
    return;
  }
  const version = platform.kind === "desktop" ? await platform.app.Version() : "";
  if (platform.kind === "desktop") {
    const app = platform.app;
    watchView(root, (view, seq) => void app.ReportView(view, seq).catch(() => undefined));
  }
  const intent = platform.kind === "desktop" ? await desktopIntent() : null;
  // A name given on the command line is the user's choice: the lobby
  // offers it after the meeting, and at the next start.
  if (intent?.name) window.localStorage.setItem(nameKey, intent.name);
  const showLobby = (): void =>
    renderLobby(root, {
      platform,
      version,
      storage: window.localStorage,
      defaultName: intent?.defaultName,
      startMeeting: platform.kind === "desktop" ? (plan) => startDesktopMeeting(root, plan, showLobby) : undefined,
    });
  // `parley --host` and `parley --join URL` open the window straight into
  // a meeting.
  const plan = intent ? planLaunch(intent) : null;
  if (plan) startDesktopMeeting(root, plan, showLobby);
  else showLobby();

  // Only the desktop window depends on WebCodecs for every video tile; a
  // browser guest gets video from its own WebRTC stack.
  if (platform.kind === "desktop") {
    const report = await checkVideoDecoding();
    await platform.app.ReportCodecSupport(report);
    if (!report.vp8Supported || report.error !== "") {
      renderUnsupported(root, report.error || "VP8 is not supported");
    }
  }
}

start().catch((e: unknown) => {
  console.error("parley: start-up failed", e);
});

// Tells report whenever the screen shown changes: the data-view of root's
// top element (for --report, which tests read to see where the window is),
// numbered, since the calls to Go may overtake each other.
function watchView(root: HTMLElement, report: (view: string, seq: number) => void): void {
  let last = "";
  let seq = 0;
  const check = (): void => {
    const view = root.querySelector<HTMLElement>(":scope > [data-view]")?.dataset.view ?? "";
    if (view === last) return;
    last = view;
    report(view, ++seq);
  };
  new MutationObserver(check).observe(root, { childList: true });
  check();
}
