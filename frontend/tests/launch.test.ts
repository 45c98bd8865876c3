import { describe, expect, test } from "vitest";
import { planLaunch } from "../src/engine/desktop/launch";
import { roomName } from "../src/views/lobby";

describe("planLaunch", () => {
  test.each([
    [{ action: "" as const }, null],
    [
      { action: "host" as const, room: "standup", name: "Ada", lobby: true, stats: true },
      {
        target: { kind: "host", password: "", lobby: true },
        join: { room: "standup", name: "Ada", password: "" },
        stats: true,
      },
    ],
    [
      { action: "host" as const },
      {
        target: { kind: "host", password: "", lobby: false },
        join: { room: "meeting", name: "Parley user", password: "" },
        stats: false,
      },
    ],
    [
      { action: "host" as const, defaultName: "Ada Lovelace" },
      {
        target: { kind: "host", password: "", lobby: false },
        join: { room: "meeting", name: "Ada Lovelace", password: "" },
        stats: false,
      },
    ],
    [
      { action: "host" as const, name: "Ada", defaultName: "Ada Lovelace" },
      {
        target: { kind: "host", password: "", lobby: false },
        join: { room: "meeting", name: "Ada", password: "" },
        stats: false,
      },
    ],
    [
      { action: "join" as const, url: "https://10.0.0.2:8443/r/team%20sync#fp=sha256:ab", name: "Bo", password: "pw" },
      {
        target: { kind: "join", url: "https://10.0.0.2:8443/r/team%20sync#fp=sha256:ab" },
        join: { room: "team sync", name: "Bo", password: "pw" },
        stats: false,
      },
    ],
    [{ action: "join" as const }, null],
  ])("%o", (launch, want) => {
    expect(planLaunch(launch)).toEqual(want);
  });
});

describe("roomName", () => {
  test.each([
    ["", ""],
    ["  ", ""],
    ["standup", "standup"],
    ["Team sync", "Team-sync"],
    ["  Réunion  du  lundi ", "Réunion-du-lundi"],
    ["q3.review_2", "q3.review_2"],
  ])("%j → %j", (typed, want) => {
    expect(roomName(typed)).toBe(want);
  });
  test.each([".hidden", "a/b", "50%", "x".repeat(65), "Ⅷ"])("%j is refused", (typed) => {
    expect(() => roomName(typed)).toThrow(/meeting name/);
  });
});
