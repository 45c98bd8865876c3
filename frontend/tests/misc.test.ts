import { describe, expect, it } from "vitest";
import { rateQuality } from "../src/engine/browser";
import { signalingURL } from "../src/engine/signaling";
import { guestParams, roomFromPath } from "../src/guest";
import { connectionLostScreen, endedScreen, joinErrorScreen, lobbyDeniedScreen, waitSeconds } from "../src/meeting/errors";
import { commandForKey } from "../src/meeting/shortcuts";
import { cleanDisplayName, isValidRoomName, normalizeErrorCode, parseServerMessage } from "../src/protocol";
import { splitLinks } from "../src/meeting/links";
import { pausedAfterMs, tileState, videoPaused } from "../src/views/tile";

describe("tileState", () => {
  it.each([
    [{ videoOff: true, hasSource: true, lastFrameAt: 1000, now: 1000 }, "video-off"],
    [{ videoOff: false, hasSource: false, lastFrameAt: null, now: 1000 }, "connecting"],
    [{ videoOff: false, hasSource: true, lastFrameAt: null, now: 1000 }, "connecting"],
    [{ videoOff: false, hasSource: true, lastFrameAt: 500, now: 1400 }, "live"],
    [{ videoOff: false, hasSource: true, lastFrameAt: 500, now: 1600 }, "stale"],
  ])("%j → %s", (input, want) => expect(tileState(input)).toBe(want));
});

describe("videoPaused", () => {
  const stale = { state: "stale" as const, screen: false, lastFrameAt: 1000, waitingSince: 0 };
  it.each([
    ["a camera whose frames stopped long enough", { ...stale, now: 1000 + pausedAfterMs }, true],
    ["not yet long enough", { ...stale, now: 999 + pausedAfterMs }, false],
    ["a screen (a still one may send nothing)", { ...stale, screen: true, now: 10_000 }, false],
    ["a tile still live", { ...stale, state: "live" as const, now: 10_000 }, false],
    ["a tile waiting for its first frame", { ...stale, state: "connecting" as const, lastFrameAt: null, now: 10_000 }, false],
    // Back on the stage at 5000 after frames last drawn at 1000: the wait counts from 5000.
    ["just back on the stage", { ...stale, waitingSince: 5000, now: 5000 + pausedAfterMs - 1 }, false],
    ["back on the stage, still no frame", { ...stale, waitingSince: 5000, now: 5000 + pausedAfterMs }, true],
  ])("%s", (_, input, want) => expect(videoPaused(input)).toBe(want));
});

describe("commandForKey", () => {
  const key = (k: string, extra: Partial<Parameters<typeof commandForKey>[0]> = {}) =>
    commandForKey({ key: k, ctrlKey: false, metaKey: false, altKey: false, target: { tagName: "BODY" }, ...extra });
  it("maps M V S C P", () => {
    expect(["m", "V", "s", "c", "P"].map((k) => key(k))).toEqual(["mic", "camera", "share", "chat", "participants"]);
  });
  it("ignores typing and modified keys", () => {
    expect(key("m", { target: { tagName: "TEXTAREA" } })).toBeNull();
    expect(key("m", { target: { tagName: "INPUT" } })).toBeNull();
    expect(key("c", { ctrlKey: true })).toBeNull();
    expect(key("x")).toBeNull();
  });
});

describe("guest URL", () => {
  it("reads the room from /r/ROOM", () => {
    expect(roomFromPath("/r/team-sync")).toBe("team-sync");
    expect(roomFromPath("/r/team-sync/")).toBe("team-sync");
    expect(roomFromPath("/")).toBeNull();
    expect(roomFromPath("/r/a/b")).toBeNull();
  });
  it("reads ?name= and ?join=1", () => {
    expect(guestParams("?name=Ada%20L&join=1")).toEqual({ name: "Ada L", autoJoin: true, micOff: false, cameraOff: false, token: "" });
    expect(guestParams("")).toEqual({ name: null, autoJoin: false, micOff: false, cameraOff: false, token: "" });
  });

  it("takes the invite token from the fragment, null when damaged", () => {
    expect(guestParams("?join=1", `#fp=sha256:${"0".repeat(64)}&t=abc.def`).token).toBe("abc.def");
    expect(guestParams("", "#t=a%20b").token).toBeNull();
  });
  it("builds the WebSocket URL on the page's origin", () => {
    expect(signalingURL({ protocol: "https:", host: "10.0.0.2:8443" })).toBe("wss://10.0.0.2:8443/ws");
    expect(signalingURL({ protocol: "http:", host: "127.0.0.1:9" })).toBe("ws://127.0.0.1:9/ws");
  });
});

describe("protocol helpers", () => {
  it("validates room names", () => {
    expect(isValidRoomName("standup")).toBe(true);
    expect(isValidRoomName("a.b_c-1")).toBe(true);
    expect(isValidRoomName(".hidden")).toBe(false);
    // Any script's letters, as the server takes them.
    expect(isValidRoomName("Réunion-du-lundi")).toBe(true);
    expect(isValidRoomName("会議")).toBe(true);
    expect(isValidRoomName("Ⅷ")).toBe(false);
    expect(isValidRoomName("with space")).toBe(false);
    expect(isValidRoomName("x".repeat(65))).toBe(false);
  });
  it("cleans display names", () => {
    expect(cleanDisplayName("  Ada \t Lovelace ")).toBe("Ada Lovelace");
    expect(cleanDisplayName("evil\u202eeman")).toBe("evileman");
    expect(Array.from(cleanDisplayName("é".repeat(70)))).toHaveLength(64);
  });
  it("treats unknown error codes as internal", () => {
    expect(normalizeErrorCode("room-full")).toBe("room-full");
    expect(normalizeErrorCode("teapot")).toBe("internal");
  });
  it("parses server messages defensively", () => {
    expect(parseServerMessage('{"type":"room","name":"x","locked":true,"limit":3,"extra":1}')).toMatchObject({ type: "room" });
    expect(parseServerMessage("[]")).toBeNull();
    expect(parseServerMessage("nope")).toBeNull();
  });
  it("knows the version 2 error codes", () => {
    for (const c of ["bad-token", "token-expired", "token-used"]) expect(normalizeErrorCode(c)).toBe(c);
  });
  it.each([
    ['{"type":"participant-state","participantId":"p1","state":"reconnecting"}', true],
    ['{"type":"participant-state","participantId":"p1","state":"asleep"}', false],
    ['{"type":"participant-state","state":"connected"}', false],
    ['{"type":"waiting","id":1}', true],
    ['{"type":"knock","knock":{"id":"k1","name":"Eve"}}', true],
    ['{"type":"knock","knock":{"id":"k1"}}', false],
    ['{"type":"knock-ended","knockId":"k1","outcome":"withdrawn"}', true],
    ['{"type":"knock-ended","knockId":"k1","outcome":"maybe"}', false],
    ['{"type":"mute","trackId":"t","participantId":"p","muted":true,"by":"h"}', true],
    ['{"type":"mute","trackId":"t","participantId":"p","muted":true,"by":7}', false],
    ['{"type":"welcome","resumeToken":"abc","resumed":true,"knocks":[{"id":"k","name":"E"}]}', true],
    ['{"type":"welcome","resumed":"yes"}', false],
    ['{"type":"welcome","knocks":[{"id":"k"}]}', false],
  ])("checks the fields of version 2 messages: %s", (text, ok) => {
    expect(parseServerMessage(text) !== null).toBe(ok);
  });
});

describe("error screens", () => {
  it("has a next step for every join error", () => {
    expect(joinErrorScreen("room-full", "").view).toBe("room-full");
    expect(joinErrorScreen("bad-password", "wrong").next).toEqual(["password", "lobby"]);
    expect(joinErrorScreen("connection-lost", "").next[0]).toBe("retry");
    expect(joinErrorScreen("internal", "boom").message).toBe("boom");
    expect(endedScreen("host-ended").view).toBe("host-ended");
    expect(endedScreen("host-ended").title).toBe("The host ended the meeting");
    // The host who ended it is told it was them.
    expect(endedScreen("host-ended", true).title).toBe("You ended the meeting for everyone");
    // Never offer to reconnect automatically after host-ended or removed.
    expect(endedScreen("host-ended").next).not.toContain("rejoin");
    expect(endedScreen("removed").next).not.toContain("rejoin");
  });
  it("tells which invite link problem it is and what to do", () => {
    for (const c of ["bad-token", "token-expired", "token-used"] as const) {
      const t = joinErrorScreen(c, "");
      expect(t.view).toBe(c);
      expect(t.message).toMatch(/Ask the host for a new invite link/);
    }
    expect(lobbyDeniedScreen().next[0]).toBe("retry");
    expect(connectionLostScreen()).toMatchObject({ view: "connection-lost", title: "Connection lost", next: ["retry", "lobby"] });
  });
  it.each([
    ["too many wrong passwords from your address: try again in 27 s", 27],
    ["try again in 1 s", 1],
    ["slow down", 30],
    ["", 30],
  ])("reads the wait from %j", (message, want) => {
    expect(waitSeconds(message)).toBe(want);
  });
});

describe("rateQuality", () => {
  it.each([
    [0, 0, 0, "unknown"],
    [0, 1000, 30, "good"],
    [40, 1000, 25, "fair"],
    [200, 1000, 25, "poor"],
    [0, 1000, 3, "poor"],
  ])("lost %i of %i at %i fps → %s", (lost, recv, fps, want) => expect(rateQuality(lost, recv, fps)).toBe(want));
});

describe("splitLinks", () => {
  it.each([
    ["no link here", [{ text: "no link here" }]],
    ["see https://example.org/a?b=1#c.", [{ text: "see " }, { url: "https://example.org/a?b=1#c" }, { text: "." }]],
    ["(http://x.test/p) and", [{ text: "(" }, { url: "http://x.test/p" }, { text: ") and" }]],
    ["https://en.wikipedia.org/wiki/Foo_(bar)!", [{ url: "https://en.wikipedia.org/wiki/Foo_(bar)" }, { text: "!" }]],
    ["two: https://a.test https://b.test", [{ text: "two: " }, { url: "https://a.test" }, { text: " " }, { url: "https://b.test" }]],
    ["javascript:alert(1) file:///etc/passwd", [{ text: "javascript:alert(1) file:///etc/passwd" }]],
    ['<a href="https://x.test">', [{ text: '<a href="' }, { url: "https://x.test" }, { text: '">' }]],
  ])("%s", (text, want) => expect(splitLinks(text)).toEqual(want));
});
