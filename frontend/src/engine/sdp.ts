// Subscribe-side SDP bookkeeping. The server labels every forwarded track in
// its subscribe offers with a=msid:<participantId> <trackId> (PROTOCOL.md §5,
// "Receiving tracks"). Browsers may invent their own remote track ids, so the
// pair is read from the SDP by the m-section's mid.

export interface MidTrack {
  mid: string;
  media: string; // "audio" | "video" | …
  participantId: string;
  trackId: string;
  // Whether the server is sending on this m-section (sendonly/sendrecv and
  // not rejected with port 0).
  active: boolean;
}

export function parseSections(sdp: string): MidTrack[] {
  const out: MidTrack[] = [];
  const sections = sdp.split(/\r?\nm=/).slice(1);
  for (const section of sections) {
    const media = /^(\S+)/.exec(section)?.[1] ?? "";
    const port = /^\S+ (\d+)/.exec(section)?.[1];
    const mid = /\na=mid:(\S+)/.exec(section)?.[1];
    const msid = /\na=msid:(\S+) (\S+)/.exec(section);
    if (!mid || !msid) continue;
    const dir = /\na=(sendonly|recvonly|sendrecv|inactive)\b/.exec(section)?.[1] ?? "sendrecv";
    out.push({
      mid,
      media,
      participantId: msid[1]!,
      trackId: msid[2]!,
      active: port !== "0" && (dir === "sendonly" || dir === "sendrecv"),
    });
  }
  return out;
}

// The example from PROTOCOL.md: mid → {participantId, trackId}.
export function msidByMid(sdp: string): Record<string, { participantId: string; trackId: string }> {
  const map: Record<string, { participantId: string; trackId: string }> = {};
  for (const s of parseSections(sdp)) map[s.mid] = { participantId: s.participantId, trackId: s.trackId };
  return map;
}

export interface Binding {
  mid: string;
  participantId: string;
  trackId: string;
  media: string;
}

export function bindingKey(b: { participantId: string; trackId: string }): string {
  return `${b.participantId}\u0000${b.trackId}`;
}

// Compares the active bindings of the previous subscribe offer with the new
// one. A mid reused for another track counts as removed and added.
export function diffBindings(
  prev: ReadonlyMap<string, Binding>,
  sdp: string,
): { next: Map<string, Binding>; added: Binding[]; removed: Binding[] } {
  const next = new Map<string, Binding>();
  for (const s of parseSections(sdp)) {
    if (!s.active) continue;
    next.set(s.mid, { mid: s.mid, participantId: s.participantId, trackId: s.trackId, media: s.media });
  }
  const added: Binding[] = [];
  const removed: Binding[] = [];
  for (const [mid, old] of prev) {
    const now = next.get(mid);
    if (!now || bindingKey(now) !== bindingKey(old)) removed.push(old);
  }
  for (const [mid, now] of next) {
    const old = prev.get(mid);
    if (!old || bindingKey(old) !== bindingKey(now)) added.push(now);
  }
  return { next, added, removed };
}
