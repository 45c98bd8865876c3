// Room events that both engines hand to the UI unchanged.

import type { ServerMessage } from "../protocol";
import type { EngineEvent } from "./types";

// The UI's event for a server message, or null for what each engine
// handles itself (welcome, negotiation, errors, ended).
export function roomEvent(m: ServerMessage): EngineEvent | null {
  switch (m.type) {
    case "participant-joined":
      return { type: "participant-joined", participant: m.participant };
    case "participant-left":
      return { type: "participant-left", participantId: m.participantId, reason: m.reason };
    case "participant-updated":
      return { type: "participant-updated", participant: m.participant };
    case "participant-state":
      return { type: "participant-state", participantId: m.participantId, state: m.state };
    case "track-published":
      return { type: "track-published", track: m.track };
    case "track-unpublished":
      return { type: "track-unpublished", participantId: m.participantId, trackId: m.trackId };
    case "mute":
      return { type: "mute", participantId: m.participantId, trackId: m.trackId, muted: m.muted, ...(m.by ? { by: m.by } : {}) };
    case "knock":
      return { type: "knock", knock: m.knock };
    case "knock-ended":
      return { type: "knock-ended", knockId: m.knockId, outcome: m.outcome };
    case "speaking":
      return { type: "speaking", participantId: m.participantId, speaking: m.speaking, level: m.level };
    case "chat":
      return { type: "chat", message: { seq: m.seq, from: m.from, name: m.name, text: m.text, ts: m.ts } };
    case "room":
      return { type: "room", room: { name: m.name, locked: m.locked, limit: m.limit, ...(m.lobby ? { lobby: true } : {}) } };
    default:
      return null;
  }
}
