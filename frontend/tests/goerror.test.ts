import { describe, expect, test } from "vitest";
import { goError } from "../src/engine/desktop/engine";

describe("goError", () => {
  test.each([
    ["join standup: room-full: the room has 100 participants", "room-full"],
    ["join standup: bad-password: wrong password", "bad-password"],
    ["join standup: token-expired: the invite link expired", "token-expired"],
    ["join standup: rate-limited: try again in 30 s", "rate-limited"],
    ["join standup: cannot reach https://10.0.0.2:8443", "connection-lost"],
    ["join standup: this host's identity changed: its certificate does not match the invite link", "identity"],
    ["join standup: the host's certificate cannot be checked: use the whole invite link, with its #fp= part", "untrusted"],
    ["something else broke", "internal"],
  ])("%s", (text, code) => {
    expect(goError(text).code).toBe(code);
  });
});
