import { describe, expect, it } from "vitest";
import { bandwidthChoices, bandwidthLabel } from "../src/meeting/bandwidth";

describe("bandwidth choices", () => {
  it.each([
    [0, "No limit"],
    [1500, "1.5 Mbit/s"],
    [1000, "1 Mbit/s"],
    [256, "256 kbit/s"],
    [1234, "1234 kbit/s"],
  ])("labels %i kbit/s as %s", (kbps, label) => {
    expect(bandwidthLabel(kbps)).toBe(label);
  });

  it("offers the presets, no limit first", () => {
    expect(bandwidthChoices(0).map((c) => c.kbps)).toEqual([0, 1500, 1000, 500, 256]);
  });

  it("shows a cap set on the command line among them, in order", () => {
    expect(bandwidthChoices(300).map((c) => c.kbps)).toEqual([0, 1500, 1000, 500, 300, 256]);
    expect(bandwidthChoices(5000).map((c) => c.kbps)).toEqual([0, 5000, 1500, 1000, 500, 256]);
  });
});
