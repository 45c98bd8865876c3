import { describe, expect, it } from "vitest";
import { averageRGB } from "../src/codeccheck";

describe("averageRGB", () => {
  it("averages one column range of an RGBA image", () => {
    // 2×1 image: red pixel then blue pixel.
    const px = new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 255]);
    expect(averageRGB(px, 2, 0, 1, 1)).toEqual([255, 0, 0]);
    expect(averageRGB(px, 2, 1, 2, 1)).toEqual([0, 0, 255]);
    expect(averageRGB(px, 2, 0, 2, 1)).toEqual([128, 0, 128]);
  });

  it("returns black for an empty range", () => {
    expect(averageRGB(new Uint8ClampedArray(0), 0, 0, 0, 0)).toEqual([0, 0, 0]);
  });
});
