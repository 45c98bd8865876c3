import { describe, expect, it } from "vitest";
import { parseInvite } from "../src/invite";

const fp = "sha256:" + "ab".repeat(32);

describe("parseInvite", () => {
  it("reads room, origin and fingerprint", () => {
    expect(parseInvite(` https://10.0.0.2:8443/r/team%20sync#fp=${fp} `)).toEqual({
      origin: "https://10.0.0.2:8443",
      room: "team sync",
      fingerprint: fp,
    });
  });

  it("accepts a link without a fingerprint", () => {
    expect(parseInvite("https://meet.example.org/r/daily").fingerprint).toBe("");
  });

  it.each([
    ["", /Paste the invite link/],
    ["not a link", /not a link/],
    ["ftp://host/r/x", /start with https/],
    ["https://host/rooms/x", /no room/],
    ["https://host/r/x#fp=sha256:zz", /fingerprint is damaged/],
  ])("rejects %j", (raw, message) => {
    expect(() => parseInvite(raw)).toThrow(message);
  });
});
