import { describe, expect, test } from "vitest";
import { roomEvent } from "../src/engine/roomevents";
import type { ServerMessage } from "../src/protocol";

describe("roomEvent", () => {
  test.each<[ServerMessage, unknown]>([
    [
      { type: "mute", participantId: "p1", trackId: "mic", muted: true, by: "h1" },
      { type: "mute", participantId: "p1", trackId: "mic", muted: true, by: "h1" },
    ],
    [
      { type: "mute", participantId: "p1", trackId: "mic", muted: false },
      { type: "mute", participantId: "p1", trackId: "mic", muted: false },
    ],
    [
      { type: "room", name: "standup", locked: true, limit: 100 },
      { type: "room", room: { name: "standup", locked: true, limit: 100 } },
    ],
    [
      { type: "room", name: "standup", locked: false, limit: 10, lobby: true },
      { type: "room", room: { name: "standup", locked: false, limit: 10, lobby: true } },
    ],
    [
      { type: "chat", seq: 3, from: "p1", name: "Ada", text: "hi", ts: 5 },
      { type: "chat", message: { seq: 3, from: "p1", name: "Ada", text: "hi", ts: 5 } },
    ],
    [{ type: "participant-state", participantId: "p2", state: "reconnecting" }, { type: "participant-state", participantId: "p2", state: "reconnecting" }],
    [{ type: "answer", id: 4, pc: "publish", sdp: "v=0" }, null],
    [{ type: "ended", reason: "host-ended" }, null],
  ])("%o", (m, want) => {
    expect(roomEvent(m)).toEqual(want);
  });
});
