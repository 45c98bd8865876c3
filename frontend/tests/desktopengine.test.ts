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
  const muted: [string, boolean][] = [];
  const caps: number[] = [];
  let tiles = [tile("Alice", true), tile("Bob")];
  let tick = () => undefined as void;
  let goEvent = (_: unknown) => undefined as void;
  const App = {
    SetMuted: async (kind: string, on: boolean) => void muted.push([kind, on]),
    SetMaxBitrate: async (kbps: number) => {
      if (kbps < 0) throw new Error(`bandwidth cap ${kbps} kbit/s: must not be negative`);
      caps.push(kbps);
    },
    MaxBitrate: async () => caps.at(-1) ?? 0,
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
    muted,
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
    // Go keeps a report only if it is later than the last it kept.
    const seqs = w.reports.map((r) => r.seq);
    expect(seqs.length).toBeGreaterThan(1);
    expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1])).toBe(true);
    engine.leave();
  });
});

describe("the desktop engine's microphone and camera", () => {
  // Rejoin (or coming back by itself after the server restarted) must not
  // turn on what the user turned off in the meeting.
  it("joins again as the last meeting left them", async () => {
    vi.stubGlobal("WebSocket", FakeSocket);
    const w = fakeWindow();
    const engine = new DesktopEngine(w.win);
    await engine.join({ room: "r", name: "Alice" });
    await engine.setMuted("audio", true);
    engine.leave();
    w.muted.length = 0;
    await engine.join({ room: "r", name: "Alice" });
    expect(w.muted).toEqual([
      ["audio", true],
      ["video", false],
    ]);
    expect(engine.isMuted("audio")).toBe(true);
    engine.leave();
    // The lobby's explicit choice still wins.
    await engine.join({ room: "r", name: "Alice", micOff: false, cameraOff: true });
    expect(w.muted.slice(-2)).toEqual([
      ["audio", false],
      ["video", true],
    ]);
    engine.leave();
  });
});

describe("the desktop engine's bandwidth cap", () => {
  it("sets and reads the cap in Go, and says why Go refused one", async () => {
    const engine = new DesktopEngine(fakeWindow().win);
    expect(await engine.maxBitrate()).toBe(0);
    await engine.setMaxBitrate(256);
    expect(await engine.maxBitrate()).toBe(256);
    await expect(engine.setMaxBitrate(-1)).rejects.toThrow(/must not be negative/);
  });
});
