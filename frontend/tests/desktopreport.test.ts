import { afterEach, describe, expect, it, vi } from "vitest";
import { DesktopEngine } from "../src/engine/desktop/engine";
import type { RenderReport } from "../src/engine/desktop/bindings";

// A data-tile element as reportStats reads it.
function tile(name: string, self = false) {
  return {
    hidden: false,
    dataset: { name, state: "live" },
    hasAttribute: (attr: string) => attr === "data-self" && self,
    getBoundingClientRect: () => ({ x: 0, y: 0, width: 320, height: 180 }),
    querySelector: () => null,
  };
}

// A window with the Go bindings, whose timer and Go events the test runs
// by hand.
function fakeWindow() {
  const reports: RenderReport[] = [];
  let tiles = [tile("Alice", true), tile("Bob")];
  let tick = () => undefined as void;
  let goEvent = (_: unknown) => undefined as void;
  const App = {
    SetMuted: async () => undefined,
    Host: async () => ({
      selfId: "alice",
      invite: "https://127.0.0.1:1/r",
      welcome: { type: "welcome", participantId: "alice", room: "r", participants: [], tracks: [] },
      renderUrl: "ws://127.0.0.1:1/render",
    }),
    Leave: async () => undefined,
    ReportRender: async (r: RenderReport) => void reports.push(r),
  };
  const win = {
    go: { app: { App } },
    runtime: {
      EventsOn: (_name: string, cb: (data: unknown) => void) => {
        goEvent = cb;
        return () => undefined;
      },
    },
    document: {
      querySelectorAll: () => tiles,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    },
    devicePixelRatio: 1,
    setInterval: (f: () => void) => {
      tick = f;
      return 1;
    },
    clearInterval: () => undefined,
    setTimeout: () => 1,
    clearTimeout: () => undefined,
    requestAnimationFrame: () => 1,
    cancelAnimationFrame: () => undefined,
  };
  return {
    win: win as unknown as Window,
    reports,
    tick: () => tick(),
    goEvent: (ev: unknown) => goEvent(ev),
    showOnly: (...names: string[]) => (tiles = tiles.filter((t) => names.includes(t.dataset.name))),
  };
}

class FakeSocket {
  static OPEN = 1;
  readyState = 0;
  binaryType = "";
  send() {}
  close() {}
}

afterEach(() => vi.unstubAllGlobals());

describe("the desktop engine's render report", () => {
  // The window's last video track ended (Bob left, our camera is off):
  // Go's report at exit must get the grid as it is now, not the last one
  // that still had Bob in it.
  it("reports the layout when no video track is left", async () => {
    vi.stubGlobal("WebSocket", FakeSocket);
    const w = fakeWindow();
    const engine = new DesktopEngine(w.win);
    await engine.join({ room: "r", name: "Alice" });
    w.goEvent({ type: "media", participantId: "bob", trackId: "cam", renderId: 5 });
    w.tick();
    expect(w.reports.at(-1)?.tracks.map((t) => t.renderId)).toEqual([5]);
    expect(w.reports.at(-1)?.layout.map((l) => l.participant)).toEqual(["Alice", "Bob"]);

    w.goEvent({ type: "media", participantId: "bob", trackId: "cam" });
    w.showOnly("Alice");
    w.tick();
    expect(w.reports.at(-1)?.tracks).toEqual([]);
    expect(w.reports.at(-1)?.layout.map((l) => l.participant)).toEqual(["Alice"]);
    engine.leave();
  });
});
