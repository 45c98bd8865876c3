import { describe, expect, it } from "vitest";
import { Presenter, RenderTrack } from "../src/engine/desktop/render";

// A Presenter whose animation frames never run: these tests only count
// what the track tells the render socket.
const idle = { requestAnimationFrame: () => 1, cancelAnimationFrame: () => undefined };

function track() {
  const changes: { wanted: boolean; half: boolean }[] = [];
  const t: RenderTrack = new RenderTrack(7, () => changes.push({ wanted: t.wanted, half: t.half }), new Presenter(idle));
  return { t, changes };
}

describe("RenderTrack half rate", () => {
  it("is half only while every subscriber draws it small", () => {
    const { t, changes } = track();
    const a = () => undefined;
    const b = () => undefined;
    const unA = t.subscribe(a);
    expect(changes).toEqual([{ wanted: true, half: false }]);
    t.setHalfRate(a, true);
    expect(t.half).toBe(true);
    const unB = t.subscribe(b); // a second tile, drawn large
    expect(t.half).toBe(false);
    t.setHalfRate(b, true);
    expect(t.half).toBe(true);
    t.setHalfRate(b, true); // no change, no message
    unB();
    expect(t.half).toBe(true);
    unA();
    expect(t.wanted).toBe(false);
    expect(t.half).toBe(false);
    expect(changes).toEqual([
      { wanted: true, half: false },
      { wanted: true, half: true },
      { wanted: true, half: false },
      { wanted: true, half: true },
      { wanted: false, half: false },
    ]);
  });

  it("ignores a rate for a listener it does not have", () => {
    const { t, changes } = track();
    t.setHalfRate(() => undefined, true);
    expect(t.half).toBe(false);
    expect(changes).toEqual([]);
  });
});
