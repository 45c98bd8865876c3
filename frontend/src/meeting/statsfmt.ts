// The stats overlay's text: one tile's receive statistics as short lines.

import type { ConnectionState, TileStats } from "../engine/types";
import type { TileModel } from "./state";

type NoStatsModel = Pick<TileModel, "self" | "screen" | "videoOff">;

// A tile's overlay: its statistics (st, if the engine reported any) as
// they stand while the meeting's connection is in the given state. While
// it is down the round trip is unknown: the ICE agent keeps the last one
// it measured until the candidate pair fails, tens of seconds later, and
// that figure would pass for a healthy link. Bitrate and frame rate are
// measured afresh at each sample and fall to 0 by themselves, and loss
// goes unknown when nothing arrives (RateTracker).
export function overlayLines(st: TileStats | undefined, m: NoStatsModel, connection: ConnectionState): string[] {
  if (!st) return [noStatsLine(m)];
  return formatStats(connection === "connected" ? st : { ...st, rttMs: null });
}

export function formatStats(s: TileStats): string[] {
  const size = s.width > 0 && s.height > 0 ? `${s.width}×${s.height}` : "—×—";
  const rtt = s.rttMs === null ? "RTT —" : `RTT ${Math.round(s.rttMs)} ms`;
  return [
    `${size} · ${s.fps.toFixed(s.fps < 10 && s.fps > 0 ? 1 : 0)} fps`,
    `${formatBitrate(s.kbps)} · ${s.lossPct === null ? "—" : formatLoss(s.lossPct)} loss`,
    rtt,
  ];
}

export function formatBitrate(kbps: number): string {
  if (kbps >= 1000) return `${(kbps / 1000).toFixed(kbps >= 10000 ? 0 : 1)} Mbps`;
  return `${Math.round(kbps)} kbps`;
}

export function formatLoss(pct: number): string {
  if (pct <= 0) return "0%";
  if (pct < 0.1) return "<0.1%";
  return `${pct.toFixed(pct < 10 ? 1 : 0)}%`;
}

// The key a tile's stats are found under.
export function statsKey(participantId: string, trackId: string): string {
  return `${participantId}\u0000${trackId}`;
}

// What the stats overlay says on a tile with no receive statistics: our
// own tiles (sent, not received) and tiles with no video.
export function noStatsLine(m: NoStatsModel): string {
  if (m.videoOff) return "camera off";
  if (m.self) return m.screen ? "your screen (sent)" : "your video (sent)";
  return "no video received";
}
