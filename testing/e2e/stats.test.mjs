// Also: tiles that do not fit on the stage stop taking frames.
//
// The stats overlay in a browser: two Chromium guests (fake camera) in a
// room of a real `parley serve`; pressing I on Ada's page shows, on Bob's
// tile, his video's resolution, frame rate, bitrate, loss and round-trip
// time from RTCPeerConnection.getStats(); pressing it again hides it.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";
import { artifacts, guestContext, guestURL, launchMediaBrowser, orExplain, startServe, tileStates } from "./harness.mjs";

let browser;
let server;
const pages = [];

before(async () => {
  browser = await launchMediaBrowser();
  server = await startServe(["--addr", "127.0.0.1:0", "--json", "--room", "stats", "--tls", "off", "--no-discovery"]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function guest(name, viewport = { width: 960, height: 600 }, { debug = false } = {}) {
  const context = await guestContext(browser, { viewport });
  await context.addInitScript(recordPeerConnections);
  if (debug) await context.addInitScript(() => localStorage.setItem("parley.debug", "1"));
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  // The engine's signaling and media steps (with debug), the last ones
  // kept for a failure message.
  page.logs = [];
  page.on("console", (m) => {
    if (m.type() !== "debug") return;
    page.logs.push(m.text());
    if (page.logs.length > 200) page.logs.shift();
  });
  await page.goto(guestURL(server.url, "stats", { name }));
  // The fifth guest joins while four pages encode video on the 2 cores:
  // its join took over 15 s once in CI.
  await orExplain(page, `${name}-join`, page.locator('[data-view="meeting"]').waitFor({ timeout: 30000 }));
  page.guestName = name;
  pages.push(page);
  return page;
}

test("the stats overlay shows Bob's video on Ada's page and hides again", async () => {
  const ada = await guest("Ada");
  await guest("Bob");
  const bob = ada.locator('[data-tile][data-name="Bob"]:not([data-screen])');
  await bob.and(ada.locator('[data-state="live"]')).waitFor({ timeout: 20000 });

  await ada.locator("body").press("i");
  const button = ada.locator('[data-control="stats"]');
  assert.equal(await button.getAttribute("aria-pressed"), "true");
  const overlay = bob.locator("[data-stats]");
  // Bitrate needs two samples (one a second): wait for a non-zero one.
  await ada.waitForFunction(
    () => {
      const t = document.querySelector('[data-tile][data-name="Bob"]:not([data-screen]) [data-stats]')?.textContent ?? "";
      return /\d+×\d+ · [\d.]+ fps/.test(t) && /[1-9][\d.]* (kbps|Mbps)/.test(t) && /RTT \d+ ms/.test(t);
    },
    null,
    { timeout: 15000, polling: 200 },
  );
  const text = await overlay.textContent();
  const [size, rate, rtt] = text.split("\n");
  const [, w, h, fps] = /^(\d+)×(\d+) · ([\d.]+) fps$/.exec(size) ?? [];
  assert.ok(Number(w) >= 160 && Number(h) >= 90, `resolution in "${size}"`);
  assert.ok(Number(fps) > 0, `frame rate in "${size}"`);
  assert.match(rate, /^[\d.]+ (kbps|Mbps) · [\d.<]+% loss$/);
  assert.match(rtt, /^RTT \d+ ms$/);
  // Ada's own tile says it is hers, not received.
  assert.match(await ada.locator('[data-tile][data-self]:not([data-screen]) [data-stats]').textContent(), /sent/);
  await ada.screenshot({ path: path.join(artifacts, "e2e-stats-overlay.png") });

  await button.click();
  assert.equal(await ada.locator("[data-stats]").count(), 0, "the overlay stays after toggling it off");
  assert.equal(await button.getAttribute("aria-pressed"), "false");
  assert.deepEqual(ada.errors, []);
});

// Keeps the page's RTCPeerConnections where the test can read their stats
// (window.__pcs; window.__videoReports(type, fields) gives those fields of
// all their video "inbound-rtp" or "outbound-rtp" reports), and the pause
// messages it sends (window.__pauses, for the failure message), without
// changing what the page does with them.
function recordPeerConnections() {
  const Original = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
  window.__videoReports = async (type, fields) => {
    const out = [];
    for (const pc of window.__pcs) {
      for (const r of (await pc.getStats()).values()) {
        if (r.type === type && r.kind === "video") out.push(Object.fromEntries(fields.map((f) => [f, r[f]])));
      }
    }
    return out;
  };
  window.__pauses = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data === "string" && data.includes('"pause"')) {
      const m = JSON.parse(data);
      window.__pauses.push({ at: Math.round(performance.now()), trackId: m.trackId, paused: m.paused, ref: !!m.referenceOnly });
    }
    return send.call(this, data);
  };
}

// What a failure on Eve's page needs to tell the page's side from the
// host's and the senders': each track's pause messages, her connections'
// states and receivers' counters, the other pages' senders' counters, her
// engine's log and the host's. Tile states are left out for orExplain,
// which prints them itself.
async function explain(eve, { tiles = null, states = true } = {}) {
  try {
    return JSON.stringify({
      tiles,
      states: states ? await tileStates(eve) : undefined,
      pauses: await eve.evaluate(() => window.__pauses),
      pcs: await eve.evaluate(async () => {
        const out = [];
        for (const pc of window.__pcs) {
          const state = [pc.connectionState, pc.iceConnectionState, pc.signalingState].join("/");
          const pairs = [];
          for (const r of (await pc.getStats()).values()) {
            if (r.type === "candidate-pair") pairs.push(`${r.state}${r.nominated ? "*" : ""} ${r.requestsSent}/${r.responsesReceived}`);
            if (r.type === "transport") pairs.push(`dtls ${r.dtlsState} ice ${r.iceState}`);
          }
          out.push({ state, pairs });
        }
        return out;
      }),
      inbound: await eve.evaluate(() =>
        window.__videoReports("inbound-rtp", ["trackIdentifier", "packetsReceived", "packetsLost", "framesDecoded", "keyFramesDecoded", "pliCount", "nackCount"]),
      ),
      sent: await Promise.all(pages.filter((p) => p !== eve).map(async (p) => [p.guestName, await outboundVideo(p)])),
      log: eve.logs.slice(-120),
      server: server.log().split("\n").slice(-40),
    });
  } catch (e) {
    return `unexplained: ${e.message}`;
  }
}

// A page's video senders' counters: whether a publisher keeps sending and
// answers keyframe requests.
function outboundVideo(page) {
  return page.evaluate(() =>
    window.__videoReports("outbound-rtp", ["bytesSent", "framesEncoded", "keyFramesEncoded", "pliCount", "nackCount", "framesPerSecond", "frameWidth", "qualityLimitationReason"]),
  );
}

// A window too small for every tile shows "+N" for the rest: those tiles
// are hidden and take no frames (data-decoding="false"; in the desktop
// app that ends their decoding and Go stops sending them to the window),
// and the host stops sending their video (protocol pause).
test("tiles off the stage stop taking frames", async () => {
  // The others' windows show one tile and "+N", so that they decode no
  // one's video (the host pauses it for them) and only publish. With all
  // five pages decoding everyone, a busy 2-core CI machine starved Eve's
  // page: tiles on her stage went seconds without a packet, and once her
  // connection dropped and had not come back when the wait ended.
  const tiny = { width: 200, height: 120 };
  for (const p of pages) await p.setViewportSize(tiny);
  await guest("Cy", tiny);
  await guest("Dee", tiny);
  const eve = await guest("Eve", { width: 360, height: 240 }, { debug: true });
  // Everyone mutes (M): the fake microphones' beeps would make each the
  // active speaker in turn, and the active speaker is kept on the stage.
  for (const p of pages) await p.locator("body").press("m");
  await orExplain(eve, "eve-more", eve.locator("[data-more]:not([hidden])").waitFor({ timeout: 20000 }));
  await orExplain(
    eve,
    "eve-hidden-tiles",
    eve.waitForFunction(
      () => {
        const tiles = [...document.querySelectorAll("[data-tile]")];
        const hidden = tiles.filter((t) => t.hidden);
        return hidden.length > 0 && hidden.every((t) => t.dataset.decoding === "false" || !t.querySelector("video, canvas"));
      },
      null,
      { timeout: 20000, polling: 200 },
    ),
    () => explain(eve, { states: false }),
  );
  // The tiles on the stage still play.
  await orExplain(
    eve,
    "eve-shown-tiles",
    eve.waitForFunction(
      () => {
        const shown = [...document.querySelectorAll("[data-tile]:not([hidden]):not([data-self])")];
        return shown.length > 0 && shown.every((t) => t.dataset.state === "live" && t.dataset.decoding === "true");
      },
      null,
      { timeout: 20000, polling: 200 },
    ),
    () => explain(eve, { states: false }),
  );
  const hiddenVideos = await eve.evaluate(() =>
    [...document.querySelectorAll("[data-tile][hidden] video")].map((v) => v.paused),
  );
  assert.ok(hiddenVideos.every((p) => p), `hidden tiles' videos still play: ${JSON.stringify(hiddenVideos)}`);
  // Video bytes arrive for tiles on the stage, not for those off it (the
  // host pauses a tile's video a second after it left the stage, and a
  // resumed one waits for the sender's next keyframe). Only tiles that
  // stayed put for 3 s before and over the 3 s of counting are judged.
  // Five pages on 2 cores can be slow to settle, and a starved sender's
  // video comes in bursts (in one round two tiles on the stage got no
  // packet for 2 s, yet drew frames just before and after), so up to four
  // rounds.
  let tiles = [];
  const settled = (ts) => {
    const off = ts.filter((t) => t.hidden);
    const on = ts.filter((t) => !t.hidden);
    return off.length > 0 && on.length > 0 && off.every((t) => t.grew === 0) && on.every((t) => t.grew > 0);
  };
  for (let round = 0; round < 4 && !settled(tiles); round++) {
    tiles = await eve.evaluate(async () => {
      const bytes = async () => new Map((await window.__videoReports("inbound-rtp", ["trackIdentifier", "bytesReceived"])).map((r) => [r.trackIdentifier, r.bytesReceived]));
      const place = new Map(); // track id → "on", "off" or "moved"
      const look = () => {
        for (const t of document.querySelectorAll("[data-tile]:not([data-self])")) {
          const id = t.querySelector("video")?.srcObject?.getVideoTracks()[0]?.id;
          if (!id) continue;
          const now = t.hidden ? "off" : "on";
          place.set(id, place.has(id) && place.get(id) !== now ? "moved" : now);
        }
      };
      const watch = setInterval(look, 50);
      await new Promise((done) => setTimeout(done, 3000));
      const before = await bytes();
      await new Promise((done) => setTimeout(done, 3000));
      const after = await bytes();
      clearInterval(watch);
      look();
      return [...place]
        .filter(([, p]) => p !== "moved")
        .map(([id, p]) => ({ id, hidden: p === "off", grew: (after.get(id) ?? 0) - (before.get(id) ?? 0) }));
    });
    if (!settled(tiles)) console.log(`# round ${round} did not settle: ${await explain(eve, { tiles })}`);
  }
  const off = tiles.filter((t) => t.hidden);
  const on = tiles.filter((t) => !t.hidden);
  if (off.length === 0 || on.length === 0) assert.fail(`tiles that stayed off / on the stage: ${await explain(eve, { tiles })}`);
  if (!off.every((t) => t.grew === 0)) assert.fail(`video still arrives for tiles off the stage: ${await explain(eve, { tiles })}`);
  if (!on.every((t) => t.grew > 0)) assert.fail(`no video for tiles on the stage: ${await explain(eve, { tiles })}`);
  await eve.screenshot({ path: path.join(artifacts, "e2e-hidden-tiles.png") });
  assert.deepEqual(eve.errors, []);
});
