import { describe, expect, it } from "vitest";
import { describeRoom, type LANRoom } from "../src/views/nearby";

const room: LANRoom = { name: "team-sync", host: "Ada", participants: 3, password: false, locked: false, url: "" };

describe("describeRoom", () => {
  it.each([
    [room, "hosted by Ada · 3 people"],
    [{ ...room, participants: 1, password: true }, "hosted by Ada · 1 person · password"],
    [{ ...room, host: "", participants: 0, locked: true, password: true }, "0 people · locked"],
    [{ ...room, lobby: true }, "hosted by Ada · 3 people · waiting room"],
    [{ ...room, lobby: true, password: true }, "hosted by Ada · 3 people · password · waiting room"],
  ])("%j → %s", (r, want) => {
    expect(describeRoom(r)).toBe(want);
  });
});
