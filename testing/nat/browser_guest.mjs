// A browser guest for the NAT tests: Debian's Chromium (playwright-core,
// the e2e harness's launch flags) opens an invite link and joins with a
// fake camera. It runs inside a test's network namespace (ip netns exec)
// and prints one JSON line every half second with what the page sees:
// each live RTCPeerConnection's selected local candidate and video frame
// counters (from getStats), and the tile of the participant it watches
// (data-state, frames the <video> rendered). It stops when stdin closes.
//
//   node browser_guest.mjs INVITE_URL ROOM NAME WATCHED_NAME
import { guestContext, guestURL, launchMediaBrowser } from "../e2e/harness.mjs";

const [invite, room, name, watched] = process.argv.slice(2);
const out = (v) => process.stdout.write(JSON.stringify({ ...v, t: Date.now() }) + "\n");

// With the camera allowed, Chromium gathers plain host candidates (no mDNS
// names); either way its traffic cannot leave the test's namespaces.
const browser = await launchMediaBrowser();
let stopping = false;
const stop = async (code) => {
  if (stopping) return;
  stopping = true;
  await browser.close().catch(() => {});
  process.exit(code);
};
process.stdin.on("end", () => stop(0));
process.stdin.resume();
setTimeout(() => {
  console.error("browser guest: still running after 90 s, giving up");
  stop(1);
}, 90_000).unref();

try {
  const context = await guestContext(browser);
  // The test, not the product, keeps the page's PeerConnections to read
  // their stats.
  await context.addInitScript(() => {
    const Orig = window.RTCPeerConnection;
    const pcs = [];
    window.__natTestPCs = pcs;
    window.RTCPeerConnection = class extends Orig {
      constructor(...args) {
        super(...args);
        pcs.push(this);
      }
    };
  });
  const page = await context.newPage();
  page.on("console", (m) => console.error(`page ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console.error(`page error: ${e}`));
  await page.goto(guestURL(invite, room, { name }));
  await page.locator('[data-view="meeting"]').waitFor({ timeout: 30_000 });
  out({ event: "meeting" });
  for (;;) {
    const seen = await page.evaluate(async (watched) => {
      const pcs = [];
      for (const pc of window.__natTestPCs) {
        if (pc.connectionState === "closed") continue;
        const report = await pc.getStats();
        let pair;
        const video = { framesDecoded: 0, framesEncoded: 0 };
        report.forEach((s) => {
          if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
          if (s.type === "inbound-rtp" && s.kind === "video") video.framesDecoded += s.framesDecoded ?? 0;
          if (s.type === "outbound-rtp" && s.kind === "video") video.framesEncoded += s.framesEncoded ?? 0;
        });
        const local = pair ? report.get(pair.localCandidateId) : undefined;
        pcs.push({
          state: pc.connectionState,
          candidateType: local?.candidateType,
          relayProtocol: local?.relayProtocol,
          address: local?.address,
          ...video,
        });
      }
      const tile = document.querySelector(`[data-tile][data-name="${watched}"]:not([data-screen])`);
      const v = tile?.querySelector("video");
      return {
        pcs,
        tile: tile ? { state: tile.dataset.state, renderedFrames: v ? v.getVideoPlaybackQuality().totalVideoFrames : 0 } : null,
      };
    }, watched);
    out({ page: seen });
    await new Promise((r) => setTimeout(r, 500));
  }
} catch (e) {
  console.error(`browser guest: ${e?.stack ?? e}`);
  await stop(1);
}
