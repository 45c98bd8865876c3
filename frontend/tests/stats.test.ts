import { describe, expect, it } from "vitest";
import { inboundStats, RateTracker } from "../src/engine/stats";
import type { TileStats } from "../src/engine/types";
import { commandForKey } from "../src/meeting/shortcuts";
import { formatBitrate, formatLoss, formatStats, noStatsLine, overlayLines, statsKey } from "../src/meeting/statsfmt";

const tile = (o: Partial<TileStats>): TileStats => ({
  participantId: "p",
  trackId: "t",
  width: 1280,
  height: 720,
  fps: 29.6,
  kbps: 1234,
  lossPct: 0.5,
  rttMs: 12.4,
  ...o,
});

describe("formatStats", () => {
  it("shows resolution, fps, bitrate, loss and RTT", () => {
    expect(formatStats(tile({}))).toEqual(["1280×720 · 30 fps", "1.2 Mbps · 0.5% loss", "RTT 12 ms"]);
  });
  it("says what is unknown", () => {
    expect(formatStats(tile({ width: 0, height: 0, fps: 0, kbps: 0, lossPct: null, rttMs: null }))).toEqual([
      "—×— · 0 fps",
      "0 kbps · — loss",
      "RTT —",
    ]);
  });
  it("tells no loss from unknown loss", () => {
    expect(formatStats(tile({ lossPct: 0 }))[1]).toBe("1.2 Mbps · 0% loss");
  });
  it("keeps a decimal for low frame rates", () => {
    expect(formatStats(tile({ fps: 4.26 }))[0]).toBe("1280×720 · 4.3 fps");
  });
  it.each([
    [0, "0 kbps"],
    [312.4, "312 kbps"],
    [999.6, "1000 kbps"],
    [1000, "1.0 Mbps"],
    [25_400, "25 Mbps"],
  ])("bitrate %s kbps → %s", (kbps, want) => expect(formatBitrate(kbps)).toBe(want));
  it.each([
    [0, "0%"],
    [0.05, "<0.1%"],
    [3.25, "3.3%"],
    [42, "42%"],
  ])("loss %s%% → %s", (pct, want) => expect(formatLoss(pct)).toBe(want));
  it("keys tiles by participant and track, unambiguously", () => {
    expect(statsKey("ab", "c")).not.toBe(statsKey("a", "bc"));
    expect(statsKey("a", "camera")).toBe(statsKey("a", "camera"));
  });
  it("toggles with I", () => {
    expect(commandForKey({ key: "i", ctrlKey: false, metaKey: false, altKey: false, target: null })).toBe("stats");
  });
});

describe("RateTracker", () => {
  it("turns counters into bitrate and loss since the last sample", () => {
    const r = new RateTracker();
    expect(r.sample("x", { bytes: 1000, lost: 0, received: 10 }, 0)).toEqual({ kbps: 0, lossPct: null });
    // 125,000 bytes in 1 s = 1000 kbps; 1 lost of 100.
    expect(r.sample("x", { bytes: 126_000, lost: 1, received: 109 }, 1000)).toEqual({ kbps: 1000, lossPct: 1 });
    expect(r.sample("x", { bytes: 251_000, lost: 1, received: 209 }, 2000)).toEqual({ kbps: 1000, lossPct: 0 });
  });
  it("does not call a cut link lossless", () => {
    // Counters stand still while nothing arrives: no bitrate, and loss
    // unknown rather than the 0% of a clean link.
    const r = new RateTracker();
    r.sample("x", { bytes: 1000, lost: 3, received: 10 }, 0);
    r.sample("x", { bytes: 126_000, lost: 4, received: 109 }, 1000);
    expect(r.sample("x", { bytes: 126_000, lost: 4, received: 109 }, 2000)).toEqual({ kbps: 0, lossPct: null });
  });
  it("never reports negative rates when counters restart", () => {
    const r = new RateTracker();
    r.sample("x", { bytes: 5000, lost: 5, received: 50 }, 0);
    expect(r.sample("x", { bytes: 10, lost: 0, received: 1 }, 1000)).toEqual({ kbps: 0, lossPct: null });
  });
  it("forgets streams that went away", () => {
    const r = new RateTracker();
    r.sample("gone", { bytes: 1000, lost: 0, received: 10 }, 0);
    r.retain(new Set());
    expect(r.sample("gone", { bytes: 2000, lost: 0, received: 20 }, 1000)).toEqual({ kbps: 0, lossPct: null });
  });
});

describe("inboundStats", () => {
  const report = (bytes: number, lost: number, received: number) =>
    [
      { id: "CP1", type: "candidate-pair", timestamp: 0, nominated: true, state: "succeeded", currentRoundTripTime: 0.025 },
      {
        id: "IV1",
        type: "inbound-rtp",
        timestamp: 0,
        kind: "video",
        mid: "1",
        bytesReceived: bytes,
        packetsLost: lost,
        packetsReceived: received,
        frameWidth: 640,
        frameHeight: 360,
        framesPerSecond: 24,
      },
      { id: "IA1", type: "inbound-rtp", timestamp: 0, kind: "audio", mid: "0", bytesReceived: 99 },
      { id: "IV2", type: "inbound-rtp", timestamp: 0, kind: "video", mid: "9", bytesReceived: 5 },
    ] as (RTCStats & Record<string, unknown>)[];
  const lookup = (mid: string) => (mid === "1" ? { participantId: "bob", trackId: "camera" } : undefined);

  it("reports each bound video track with the connection's RTT", () => {
    const rates = new RateTracker();
    inboundStats(report(0, 0, 0), lookup, rates, 0);
    const got = inboundStats(report(62_500, 2, 98), lookup, rates, 500);
    expect(got).toEqual([
      { participantId: "bob", trackId: "camera", width: 640, height: 360, fps: 24, kbps: 1000, lossPct: 2, rttMs: 25 },
    ]);
  });
});

describe("the overlay while the connection is down", () => {
  const remote = { self: false, screen: false, videoOff: false };
  it("shows the round trip while connected", () => {
    expect(overlayLines(tile({}), remote, "connected")).toEqual(["1280×720 · 30 fps", "1.2 Mbps · 0.5% loss", "RTT 12 ms"]);
  });
  it.each(["reconnecting", "connecting", "closed"] as const)("does not show the last round trip while %s", (connection) => {
    // The engine still reports the RTT it last measured (the ICE pair
    // keeps it); the figures measured afresh stay.
    expect(overlayLines(tile({ kbps: 0, lossPct: null }), remote, connection)).toEqual(["1280×720 · 30 fps", "0 kbps · — loss", "RTT —"]);
  });
  it("says why a tile has no figures, connected or not", () => {
    expect(overlayLines(undefined, remote, "connected")).toEqual(["no video received"]);
    expect(overlayLines(undefined, { ...remote, self: true }, "reconnecting")).toEqual(["your video (sent)"]);
  });
});

describe("the overlay on a tile without receive statistics", () => {
  it.each([
    [{ self: true, screen: false, videoOff: true }, "camera off"],
    [{ self: true, screen: false, videoOff: false }, "your video (sent)"],
    [{ self: true, screen: true, videoOff: false }, "your screen (sent)"],
    [{ self: false, screen: false, videoOff: true }, "camera off"],
    [{ self: false, screen: false, videoOff: false }, "no video received"],
  ])("%o says %s", (m, line) => {
    expect(noStatsLine(m)).toBe(line);
  });
});
