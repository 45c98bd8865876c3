import { describe, expect, it } from "vitest";
import type { VideoSource } from "../src/engine/types";
import {
  deriveTiles,
  groupChat,
  initialState,
  initials,
  leaveEndsMeeting,
  mergeChat,
  micMuted,
  participantRows,
  prepareChat,
  reduce,
  trackKey,
  type Action,
  type MeetingState,
} from "../src/meeting/state";
import type { ChatMessage } from "../src/protocol";

const ada = { id: "a1", name: "Ada Lovelace", role: "guest" as const };
const grace = { id: "g1", name: "Grace", role: "host" as const };
const bob = { id: "b1", name: "Bob", role: "guest" as const };

function chat(seq: number, from: string, name: string, text: string, ts = 1000 * seq): ChatMessage {
  return { seq, from, name, text, ts };
}

function run(actions: Action[], s: MeetingState = initialState()): MeetingState {
  return actions.reduce(reduce, s);
}

const fakeSource = { type: "stream", stream: {} } as unknown as VideoSource;

const welcome: Action = {
  type: "welcome",
  selfId: "a1",
  room: { name: "standup", locked: false, limit: 100 },
  participants: [grace, ada],
  tracks: [
    { id: "mic-g", participantId: "g1", kind: "audio", muted: false },
    { id: "cam-g", participantId: "g1", kind: "video", muted: false },
  ],
  chat: [chat(2, "g1", "Grace", "second"), chat(1, "g1", "Grace", "first")],
  knocks: [],
  resumed: false,
};

describe("meeting reducer", () => {
  it("takes everything from welcome", () => {
    const s = run([welcome]);
    expect(s.selfId).toBe("a1");
    expect(Object.keys(s.participants)).toEqual(["g1", "a1"]);
    expect(s.chat.map((m) => m.seq)).toEqual([1, 2]);
    expect(s.unread).toBe(0);
    expect(s.tracks[trackKey("g1", "cam-g")]?.kind).toBe("video");
  });

  it("orders tiles self first, then join order, screens last", () => {
    const s = run([
      welcome,
      { type: "participant-joined", participant: bob },
      { type: "track-published", track: { id: "scr", participantId: "g1", kind: "screen", muted: false } },
    ]);
    expect(deriveTiles(s).map((t) => t.id)).toEqual(["cam:a1", "cam:g1", "cam:b1", "screen:g1:scr"]);
    const screen = deriveTiles(s)[3]!;
    expect(screen.screen).toBe(true);
    expect(screen.name).toBe("Grace");
  });

  it("tells apart people with the same name, in join order, on tiles and in the list", () => {
    const s = run([
      welcome,
      { type: "participant-joined", participant: bob },
      { type: "participant-joined", participant: { id: "b2", name: "bob ", role: "guest" } },
      { type: "participant-joined", participant: { id: "b3", name: "Bob", role: "guest" } },
      { type: "track-published", track: { id: "scr", participantId: "b3", kind: "screen", muted: false } },
    ]);
    const tileNames = Object.fromEntries(deriveTiles(s).map((t) => [t.id, t.name]));
    expect(tileNames).toMatchObject({ "cam:b1": "Bob", "cam:b2": "bob (2)", "cam:b3": "Bob (3)", "screen:b3:scr": "Bob (3)" });
    expect(participantRows(s).map((r) => r.name)).toEqual(["Ada Lovelace", "Grace", "Bob", "bob (2)", "Bob (3)"]);
    // The first Bob leaves: the others keep apart, now as the first and second.
    const after = run([{ type: "participant-left", participantId: "b1", reason: "left" }], s);
    expect(participantRows(after).map((r) => r.name)).toEqual(["Ada Lovelace", "Grace", "bob ", "Bob (2)"]);
    // Yourself, never: Ada rejoined while her old session holds its place.
    const rejoined = run([{ type: "participant-joined", participant: { id: "a0", name: "Ada Lovelace", role: "guest" } }], run([welcome]));
    expect(deriveTiles(rejoined).find((t) => t.self)?.name).toBe("Ada Lovelace");
  });

  it("keeps an engine's warning as a toast even before a view shows the meeting", () => {
    const s = run([
      { type: "error", code: "media", message: "no microphone: others will not hear you", fatal: false },
      { type: "error", code: "connection-lost", message: "lost", fatal: false },
      { type: "error", code: "internal", message: "broken", fatal: true },
      welcome,
      { type: "screen-ended" },
    ]);
    expect(s.toasts.map((t) => t.text)).toEqual(["No microphone: others will not hear you", "You stopped sharing your screen."]);
  });

  it("toasts joins and leaves, and drops the leaver's tracks and media", () => {
    const s = run([
      welcome,
      { type: "participant-joined", participant: bob },
      { type: "track-published", track: { id: "cam-b", participantId: "b1", kind: "video", muted: false } },
      { type: "media", participantId: "b1", trackId: "cam-b", kind: "video", source: fakeSource },
      { type: "participant-left", participantId: "b1", reason: "gone" },
    ]);
    expect(s.toasts.map((t) => t.text)).toEqual(["Bob joined", "Bob lost connection"]);
    expect(s.participants["b1"]).toBeUndefined();
    expect(Object.keys(s.tracks).some((k) => k.startsWith("b1"))).toBe(false);
    expect(Object.keys(s.media)).toEqual([]);
    expect(reduce(s, { type: "ui/toast-expired", id: s.toasts[0]!.id }).toasts).toHaveLength(1);
  });

  it("matches media that arrives before its track-published", () => {
    let s = run([welcome, { type: "participant-joined", participant: bob }]);
    s = reduce(s, { type: "media", participantId: "b1", trackId: "cam-b", kind: "video", source: fakeSource });
    expect(deriveTiles(s).find((t) => t.id === "cam:b1")?.source).toBeNull();
    s = reduce(s, { type: "track-published", track: { id: "cam-b", participantId: "b1", kind: "video", muted: false } });
    const tile = deriveTiles(s).find((t) => t.id === "cam:b1")!;
    expect(tile.source).toBe(fakeSource);
    expect(tile.videoOff).toBe(false);
  });

  it("derives mic and camera state from mute events", () => {
    let s = run([welcome]);
    let g = deriveTiles(s).find((t) => t.participantId === "g1")!;
    expect([g.micMuted, g.videoOff]).toEqual([false, false]);
    s = reduce(s, { type: "mute", participantId: "g1", trackId: "mic-g", muted: true });
    s = reduce(s, { type: "mute", participantId: "g1", trackId: "cam-g", muted: true });
    g = deriveTiles(s).find((t) => t.participantId === "g1")!;
    expect([g.micMuted, g.videoOff]).toEqual([true, true]);
    // Someone with no microphone and no camera counts as muted, camera off.
    const self = deriveTiles(s).find((t) => t.self)!;
    expect([self.micMuted, self.videoOff]).toEqual([true, true]);
  });

  it("ignores a mute for an unknown track", () => {
    const s = run([welcome]);
    expect(reduce(s, { type: "mute", participantId: "zz", trackId: "x", muted: true })).toBe(s);
  });

  it("removes an unpublished screen and unpins it", () => {
    const s = run([
      welcome,
      { type: "track-published", track: { id: "scr", participantId: "g1", kind: "screen", muted: false } },
      { type: "ui/pin", tileId: "screen:g1:scr" },
      { type: "track-unpublished", participantId: "g1", trackId: "scr" },
    ]);
    expect(s.pinned).toBeNull();
    expect(deriveTiles(s).some((t) => t.screen)).toBe(false);
  });

  it("keeps the last speaker active after they stop", () => {
    let s = run([welcome, { type: "speaking", participantId: "g1", speaking: true, level: 90 }]);
    expect(s.activeSpeaker).toBe("g1");
    expect(deriveTiles(s).find((t) => t.participantId === "g1")?.speaking).toBe(true);
    s = reduce(s, { type: "speaking", participantId: "g1", speaking: false, level: 0 });
    expect(s.activeSpeaker).toBe("g1");
    expect(deriveTiles(s).find((t) => t.participantId === "g1")?.speaking).toBe(false);
    s = reduce(s, { type: "participant-left", participantId: "g1", reason: "left" });
    expect(s.activeSpeaker).toBeNull();
  });

  it("counts unread chat from others while the panel is closed", () => {
    let s = run([welcome]);
    s = reduce(s, { type: "chat", message: chat(3, "g1", "Grace", "hi") });
    s = reduce(s, { type: "chat", message: chat(4, "a1", "Ada Lovelace", "mine") });
    s = reduce(s, { type: "chat", message: chat(3, "g1", "Grace", "hi") }); // duplicate seq
    expect(s.unread).toBe(1);
    expect(s.chat).toHaveLength(4);
    s = reduce(s, { type: "ui/toggle-panel", panel: "chat" });
    expect([s.panel, s.unread]).toEqual(["chat", 0]);
    s = reduce(s, { type: "chat", message: chat(5, "g1", "Grace", "again") });
    expect(s.unread).toBe(0);
    s = reduce(s, { type: "ui/toggle-panel", panel: "chat" });
    expect(s.panel).toBeNull();
  });

  it("starts over on a new welcome (reconnect) but keeps the open panel", () => {
    let s = run([welcome, { type: "ui/panel", panel: "participants" }, { type: "participant-joined", participant: bob }]);
    s = reduce(s, { ...welcome, selfId: "a2", participants: [grace, { ...ada, id: "a2" }] } as Action);
    expect(s.selfId).toBe("a2");
    expect(s.participants["b1"]).toBeUndefined();
    expect(s.panel).toBe("participants");
  });

  it("a resumed welcome keeps order, media and pins, merges missed chat once and toasts nobody", () => {
    let s = run([
      welcome,
      { type: "participant-joined", participant: bob },
      { type: "track-published", track: { id: "cam-b", participantId: "b1", kind: "video", muted: false } },
      { type: "media", participantId: "g1", trackId: "cam-g", kind: "video", source: fakeSource },
      { type: "media", participantId: "b1", trackId: "cam-b", kind: "video", source: fakeSource },
      { type: "ui/pin", tileId: "cam:g1" },
      { type: "chat", message: chat(3, "b1", "Bob", "third") },
    ]);
    const toasts = s.toasts.length;
    const unread = s.unread;
    // While away: Bob left, Cy joined, Grace wrote 4 and 5; the history
    // repeats 1–3.
    s = reduce(s, {
      ...(welcome as Extract<Action, { type: "welcome" }>),
      resumed: true,
      participants: [grace, ada, { id: "c1", name: "Cy", role: "guest" }],
      chat: [1, 2, 3, 4, 5].map((n) => chat(n, n === 3 ? "b1" : "g1", n === 3 ? "Bob" : "Grace", `m${n}`)),
    });
    expect(s.chat.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(s.chat[2]!.text).toBe("third"); // the copy already shown stays
    expect(s.unread).toBe(unread + 2);
    expect(Object.keys(s.participants).sort()).toEqual(["a1", "c1", "g1"]);
    expect(s.participants["g1"]!.order).toBeLessThan(s.participants["c1"]!.order);
    expect(s.media[trackKey("g1", "cam-g")]).toBe(fakeSource);
    expect(s.media[trackKey("b1", "cam-b")]).toBeUndefined();
    expect(s.pinned).toBe("cam:g1");
    expect(s.toasts.length).toBe(toasts);
  });

  it("shows a participant as reconnecting and back, with no toast", () => {
    let s = run([welcome]);
    const toasts = s.toasts.length;
    s = reduce(s, { type: "participant-state", participantId: "g1", state: "reconnecting" });
    expect(s.participants["g1"]!.connection).toBe("reconnecting");
    expect(deriveTiles(s).find((t) => t.participantId === "g1")!.reconnecting).toBe(true);
    s = reduce(s, { type: "participant-state", participantId: "g1", state: "connected" });
    expect(s.participants["g1"]!.connection).toBe("connected");
    expect(s.toasts.length).toBe(toasts);
    expect(reduce(s, { type: "participant-state", participantId: "zz", state: "connected" })).toBe(s);
  });

  // QA: Grace dropped, then we did; she came back while we were away, so
  // her participant-state "connected" never reached us.
  it("takes everyone's connection from a welcome, also a resumed one", () => {
    let s = run([welcome, { type: "participant-state", participantId: "g1", state: "reconnecting" }]);
    s = reduce(s, { ...(welcome as Extract<Action, { type: "welcome" }>), resumed: true });
    expect(s.participants["g1"]!.connection).toBe("connected");
    expect(deriveTiles(s).find((t) => t.participantId === "g1")!.reconnecting).toBe(false);
    const away = { ...grace, reconnecting: true };
    s = reduce(s, { ...(welcome as Extract<Action, { type: "welcome" }>), resumed: true, participants: [away, ada] });
    expect(s.participants["g1"]!.connection).toBe("reconnecting");
    expect(s.participants["g1"]).not.toHaveProperty("reconnecting");
    s = run([{ ...(welcome as Extract<Action, { type: "welcome" }>), participants: [away, ada] }]);
    expect(s.participants["g1"]!.connection).toBe("reconnecting");
    expect(s.participants["a1"]!.connection).toBe("connected");
  });

  it("keeps the lobby's knocks from welcome, knock and knock-ended", () => {
    let s = run([{ ...(welcome as Extract<Action, { type: "welcome" }>), knocks: [{ id: "k1", name: "Eve" }] }]);
    s = reduce(s, { type: "knock", knock: { id: "k2", name: "Mallory" } });
    s = reduce(s, { type: "knock", knock: { id: "k2", name: "Mallory" } });
    expect(s.knocks.map((k) => k.id)).toEqual(["k1", "k2"]);
    s = reduce(s, { type: "knock-ended", knockId: "k1", outcome: "admitted" });
    expect(s.knocks.map((k) => k.name)).toEqual(["Mallory"]);
  });

  it("tells you when a host muted you, not when you muted yourself", () => {
    let s = run([welcome, { type: "track-published", track: { id: "mic-a", participantId: "a1", kind: "audio", muted: false } }]);
    const n = s.toasts.length;
    s = reduce(s, { type: "mute", participantId: "a1", trackId: "mic-a", muted: true });
    expect(s.toasts.length).toBe(n);
    s = reduce(s, { type: "mute", participantId: "a1", trackId: "mic-a", muted: false });
    s = reduce(s, { type: "mute", participantId: "a1", trackId: "mic-a", muted: true, by: "g1" });
    expect(s.toasts.at(-1)!.text).toMatch(/^The host muted you/);
    expect(micMuted(s, "a1")).toBe(true);
  });

  it("records how the meeting ended", () => {
    expect(run([welcome, { type: "ended", reason: "host-ended" }]).ended).toBe("host-ended");
  });
});

describe("participant list", () => {
  it("lists you first, then hosts, then by name, with mute state", () => {
    const s = run([
      welcome,
      { type: "participant-joined", participant: bob },
      { type: "participant-joined", participant: { id: "c1", name: "alice", role: "guest" } },
      { type: "track-published", track: { id: "m", participantId: "b1", kind: "audio", muted: false } },
      { type: "track-published", track: { id: "s", participantId: "b1", kind: "screen", muted: false } },
    ]);
    const rows = participantRows(s);
    expect(rows.map((r) => r.name)).toEqual(["Ada Lovelace", "Grace", "alice", "Bob"]);
    expect(rows.map((r) => r.micMuted)).toEqual([true, false, true, false]);
    expect(rows[0]!.self).toBe(true);
    expect(rows[1]!.host).toBe(true);
    expect(rows[3]!.sharing).toBe(true);
  });
});

describe("chat helpers", () => {
  it("groups consecutive messages from one sender", () => {
    const groups = groupChat(
      [chat(1, "g1", "Grace", "a", 0), chat(2, "g1", "Grace", "b", 1000), chat(3, "a1", "Ada", "c", 2000), chat(4, "g1", "Grace", "d", 3000), chat(5, "g1", "Grace", "e", 3000 + 10 * 60 * 1000)],
      "a1",
    );
    expect(groups.map((g) => [g.name, g.self, g.messages.length])).toEqual([
      ["Grace", false, 2],
      ["Ada", true, 1],
      ["Grace", false, 1],
      ["Grace", false, 1],
    ]);
  });

  it.each([
    ["hello", { text: "hello" }],
    ["  two\r\nlines  ", { text: "  two\nlines" }],
    ["   ", { error: "Type a message first." }],
    ["bell\u0007", { error: "The message has characters that cannot be sent." }],
    ["x".repeat(4001), { error: "The message is too long (4000 characters at most)." }],
  ])("prepareChat(%j)", (raw, want) => {
    expect(prepareChat(raw)).toEqual(want);
  });
});

describe("initials", () => {
  it.each([
    ["Ada Lovelace", "AL"],
    ["grace", "G"],
    ["  Jean  Paul   Sartre ", "JS"],
    ["", "?"],
    ["Émile Zola", "ÉZ"],
    ["Bob (2)", "B"],
    ["Ada Lovelace (3)", "AL"],
    ["(( ))", "?"],
  ])("%j → %s", (name, want) => expect(initials(name)).toBe(want));
});

describe("mergeChat", () => {
  const m = (n: number) => chat(n, "g1", "Grace", `m${n}`);
  it.each([
    [[], [3, 1, 2], [1, 2, 3]],
    [[1, 2], [1, 2, 3, 4], [1, 2, 3, 4]],
    [[1, 2, 5], [3, 4, 5], [1, 2, 3, 4, 5]],
    [[1, 2], [2, 2, 3], [1, 2, 3]],
    [[4], [], [4]],
  ])("%j + %j = %j, each once", (have, more, want) => {
    expect(mergeChat(have.map(m), more.map(m)).map((x) => x.seq)).toEqual(want);
  });
  it("returns the same list when nothing is new", () => {
    const list = [m(1), m(2)];
    expect(mergeChat(list, [m(2)])).toBe(list);
  });
});

describe("leaveEndsMeeting", () => {
  const alone: Action = { ...welcome, participants: [ada], tracks: [] } as Action;
  it.each([
    ["a window hosting with others there", welcome, true, true],
    ["a window hosting alone", alone, true, false],
    ["a guest with others there", welcome, false, false],
  ])("%s", (_, w, hostedHere, want) => {
    expect(leaveEndsMeeting(run([w as Action]), hostedHere as boolean)).toBe(want);
  });
  it("once the others left, Leave is a plain leave again", () => {
    const s = run([welcome, { type: "participant-left", participantId: "g1", reason: "left" }]);
    expect(leaveEndsMeeting(s, true)).toBe(false);
  });
});
