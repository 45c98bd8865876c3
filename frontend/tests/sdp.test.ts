import { describe, expect, it } from "vitest";
import { diffBindings, msidByMid, parseSections, type Binding } from "../src/engine/sdp";

const header = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n";

function section(kind: string, mid: string, msid: string | null, dir = "sendonly", port = 9): string {
  return (
    `m=${kind} ${port} UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:${mid}\r\n` +
    (msid ? `a=msid:${msid}\r\n` : "") +
    `a=${dir}\r\na=rtpmap:96 VP8/90000\r\n`
  );
}

describe("msidByMid", () => {
  it("maps each mid to the publisher and track (PROTOCOL.md example)", () => {
    const sdp = header + section("audio", "0", "04be1f6a3c92 mic-1") + section("video", "1", "04be1f6a3c92 cam-1");
    expect(msidByMid(sdp)).toEqual({
      "0": { participantId: "04be1f6a3c92", trackId: "mic-1" },
      "1": { participantId: "04be1f6a3c92", trackId: "cam-1" },
    });
  });

  it("handles \\n line endings and skips sections without msid", () => {
    const sdp = (header + section("video", "0", null) + section("video", "1", "p2 t2")).replace(/\r\n/g, "\n");
    expect(msidByMid(sdp)).toEqual({ "1": { participantId: "p2", trackId: "t2" } });
  });
});

describe("parseSections", () => {
  it("marks inactive and rejected sections", () => {
    const sdp =
      header + section("video", "0", "p t", "inactive") + section("video", "1", "p u", "sendonly", 0) + section("audio", "2", "p v");
    expect(parseSections(sdp).map((s) => [s.mid, s.media, s.active])).toEqual([
      ["0", "video", false],
      ["1", "video", false],
      ["2", "audio", true],
    ]);
  });
});

describe("diffBindings", () => {
  it("reports tracks added, removed and a mid reused for another track", () => {
    const first = header + section("audio", "0", "A a1") + section("video", "1", "A v1");
    const d1 = diffBindings(new Map(), first);
    expect(d1.added.map((b) => b.trackId)).toEqual(["a1", "v1"]);
    expect(d1.removed).toEqual([]);

    // A leaves (mid 1 goes inactive), B's screen reuses mid 0.
    const second = header + section("video", "0", "B s1") + section("video", "1", "A v1", "inactive");
    const d2 = diffBindings(d1.next, second);
    expect(d2.removed.map((b: Binding) => `${b.participantId}/${b.trackId}`).sort()).toEqual(["A/a1", "A/v1"]);
    expect(d2.added).toEqual([{ mid: "0", participantId: "B", trackId: "s1", media: "video" }]);

    // Nothing changed: nothing to do.
    const d3 = diffBindings(d2.next, second);
    expect(d3.added).toEqual([]);
    expect(d3.removed).toEqual([]);
  });
});
