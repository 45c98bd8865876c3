import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isVp8Keyframe, parseIvf } from "../src/ivf";

function fixture(): ArrayBuffer {
  const b = readFileSync(new URL("../public/selftest/vp8-keyframe.ivf", import.meta.url));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

describe("parseIvf", () => {
  it("reads the shipped VP8 keyframe fixture", () => {
    const ivf = parseIvf(fixture());
    expect(ivf.header.fourcc).toBe("VP80");
    expect(ivf.header.width).toBe(320);
    expect(ivf.header.height).toBe(240);
    expect(ivf.frames).toHaveLength(1);
    expect(isVp8Keyframe(ivf.frames[0]!.data)).toBe(true);
  });

  it.each([
    ["a short file", new Uint8Array(10).buffer, /shorter than its header/],
    ["a wrong signature", new Uint8Array(64).buffer, /bad signature/],
  ])("rejects %s", (_name, buf, message) => {
    expect(() => parseIvf(buf)).toThrow(message);
  });

  it("rejects a frame that runs past the end", () => {
    const buf = fixture().slice(0, 60);
    expect(() => parseIvf(buf)).toThrow(/past the end/);
  });
});

describe("isVp8Keyframe", () => {
  it.each([
    [[0x10, 0x02], true],
    [[0x11, 0x02], false],
    [[], false],
  ])("%j → %s", (bytes, want) => {
    expect(isVp8Keyframe(new Uint8Array(bytes))).toBe(want);
  });
});
