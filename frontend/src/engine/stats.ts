// Receive statistics per tile, for the stats overlay: what each engine
// measures, turned into one shape (TileStats). The browser engine reads
// RTCPeerConnection.getStats(); the desktop engine gets counters from Go.

import type { TileStats } from "./types";

// Bitrate and loss need two samples: RateTracker keeps the previous
// counters of each stream and turns the next ones into rates.
export class RateTracker {
  private last = new Map<string, { bytes: number; lost: number; received: number; at: number }>();

  // Rates since the previous sample of key (no bitrate on the first). Loss
  // is null when no packet arrived meanwhile: a receiver counts a packet
  // lost only when a later one arrives, so a cut link would read 0%.
  sample(key: string, c: { bytes: number; lost: number; received: number }, now: number): { kbps: number; lossPct: number | null } {
    const prev = this.last.get(key);
    this.last.set(key, { ...c, at: now });
    if (!prev || now <= prev.at) return { kbps: 0, lossPct: null };
    const bytes = Math.max(0, c.bytes - prev.bytes);
    const lost = Math.max(0, c.lost - prev.lost);
    const received = Math.max(0, c.received - prev.received);
    return {
      kbps: (bytes * 8) / (now - prev.at),
      lossPct: lost + received > 0 ? (100 * lost) / (lost + received) : null,
    };
  }

  // Forgets streams not in keep (tracks that went away).
  retain(keep: ReadonlySet<string>): void {
    for (const k of this.last.keys()) if (!keep.has(k)) this.last.delete(k);
  }
}

type StatsEntry = RTCStats & Record<string, unknown>;

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

// The tiles' statistics from a subscribe connection's stats report. lookup
// maps a transceiver's mid to the track it carries.
export function inboundStats(
  entries: Iterable<StatsEntry>,
  lookup: (mid: string) => { participantId: string; trackId: string; kind?: string } | undefined,
  rates: RateTracker,
  now: number,
): TileStats[] {
  const all = [...entries];
  // The connection's round-trip time: every track shares the transport.
  let rttMs: number | null = null;
  for (const st of all) {
    if (st.type === "candidate-pair" && (st.nominated || st.state === "succeeded") && typeof st.currentRoundTripTime === "number") {
      rttMs = st.currentRoundTripTime * 1000;
    }
  }
  const out: TileStats[] = [];
  const keep = new Set<string>();
  for (const st of all) {
    if (st.type !== "inbound-rtp" || st.kind !== "video" || typeof st.mid !== "string") continue;
    const b = lookup(st.mid);
    if (!b) continue;
    keep.add(st.id);
    const r = rates.sample(st.id, { bytes: num(st.bytesReceived), lost: num(st.packetsLost), received: num(st.packetsReceived) }, now);
    out.push({
      participantId: b.participantId,
      trackId: b.trackId,
      width: num(st.frameWidth),
      height: num(st.frameHeight),
      fps: num(st.framesPerSecond),
      kbps: r.kbps,
      lossPct: r.lossPct,
      rttMs,
    });
  }
  rates.retain(keep);
  return out;
}

// getStats of a browser's subscribe connection, as TileStats.
export async function browserStats(
  pc: RTCPeerConnection | null,
  lookup: (mid: string) => { participantId: string; trackId: string } | undefined,
  rates: RateTracker,
): Promise<TileStats[]> {
  if (!pc) return [];
  const report = await pc.getStats();
  const entries: StatsEntry[] = [];
  report.forEach((st: StatsEntry) => entries.push(st));
  return inboundStats(entries, lookup, rates, performance.now());
}
