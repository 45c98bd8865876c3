import { describe, expect, it } from "vitest";
import { parseFragment, parseInvite } from "../src/invite";

const fp = "sha256:" + "ab".repeat(32);

describe("parseInvite", () => {
  it("reads room, origin and fingerprint", () => {
    expect(parseInvite(` https://10.0.0.2:8443/r/team%20sync#fp=${fp} `)).toEqual({
      origin: "https://10.0.0.2:8443",
      room: "team sync",
      fingerprint: fp,
      token: "",
    });
  });

  it("reads the invite token after the fingerprint", () => {
    const tok = "MXxzdGFuZHVwfDE3MzU3OTAwMDB8Z3w.q0Jx-_9a";
    expect(parseInvite(`https://h:1/r/standup#fp=${fp}&t=${tok}`)).toMatchObject({ fingerprint: fp, token: tok });
  });

  it("reads http:// with a fingerprint as https://", () => {
    expect(parseInvite(`http://10.0.0.2:8443/r/x#fp=${fp}`).origin).toBe("https://10.0.0.2:8443");
    expect(parseInvite("http://127.0.0.1:9/r/x").origin).toBe("http://127.0.0.1:9");
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
    ["https://host/r/x#t=a%20b", /invitation is damaged/],
  ])("rejects %j", (raw, message) => {
    expect(() => parseInvite(raw)).toThrow(message);
  });
});

describe("parseFragment", () => {
  it.each([
    ["", { fingerprint: "", token: "" }],
    ["#", { fingerprint: "", token: "" }],
    [`#fp=${fp.toUpperCase().replace("SHA256", "sha256")}`, { fingerprint: fp, token: "" }],
    ["#t=abc.DEF_-", { fingerprint: "", token: "abc.DEF_-" }],
    [`#fp=${fp}&t=x.y`, { fingerprint: fp, token: "x.y" }],
    [`t=x.y&fp=${fp}`, { fingerprint: fp, token: "x.y" }],
  ])("reads %j", (hash, want) => {
    expect(parseFragment(hash)).toEqual(want);
  });

  it("rejects a token that is too long or has other characters", () => {
    expect(() => parseFragment("#t=" + "a".repeat(513))).toThrow(/invitation is damaged/);
    expect(() => parseFragment("#t=a/b")).toThrow(/invitation is damaged/);
  });
});
