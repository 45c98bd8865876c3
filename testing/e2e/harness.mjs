// Shared set-up for the browser end-to-end tests: a real `parley serve` and
// Debian's Chromium driven by playwright-core (never a downloaded browser).
import { spawn } from "node:child_process";
import { after, before } from "node:test";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "..", "..");
const require = createRequire(path.join(repoRoot, "frontend", "package.json"));
const { chromium } = require("playwright-core");

export const parleyBin = process.env.PARLEY_BIN ?? path.join(repoRoot, "build", "bin", "parley");
export const artifacts = process.env.PARLEY_ARTIFACTS ?? path.join(repoRoot, "testing", "artifacts");
mkdirSync(artifacts, { recursive: true });

// Starts `parley serve` with args and resolves once it prints its URL.
export function startServe(args = [], { timeoutMs = 15000 } = {}) {
  const proc = spawn(parleyBin, ["serve", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const stderr = [];
  proc.stderr.on("data", (d) => stderr.push(d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`parley serve printed no URL within ${timeoutMs} ms: ${Buffer.concat(stderr)}`));
    }, timeoutMs);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`parley serve exited with ${code}: ${Buffer.concat(stderr)}`));
    });
    const lines = readline.createInterface({ input: proc.stdout });
    let ready = false;
    lines.on("line", (line) => {
      if (ready) return;
      // --json prints {"event":"ready","url":…}; otherwise the URL is in the text.
      let url;
      let ev;
      if (line.startsWith("{")) {
        try {
          ev = JSON.parse(line);
          if (ev.event === "ready") url = ev.url;
        } catch {
          // not JSON after all
        }
      }
      url ??= /(https?:\/\/[^\s"]+)/.exec(line)?.[1];
      if (!url) return;
      ready = true;
      clearTimeout(timer);
      proc.removeAllListeners("exit");
      resolve({
        url,
        // With --json: the ready event (hostUrl, fingerprint, …).
        ready: ev?.event === "ready" ? ev : null,
        proc,
        // What it logged so far, for failure messages.
        log: () => Buffer.concat(stderr).toString(),
        stop: () =>
          new Promise((done) => {
            if (proc.exitCode !== null) return done(proc.exitCode);
            // A server that does not stop within 10 s would hang the whole
            // suite: keep its goroutine dump (SIGQUIT) for whoever debugs
            // it, then kill it.
            const hang = setTimeout(() => {
              proc.kill("SIGQUIT");
              setTimeout(() => {
                const file = path.join(artifacts, `serve-hang-${proc.pid}.log`);
                writeFileSync(file, Buffer.concat(stderr));
                console.error(`# parley serve ${proc.pid} did not stop on SIGTERM; goroutines in ${file}`);
                proc.kill("SIGKILL");
              }, 1000);
            }, 10000);
            proc.once("exit", (code) => {
              clearTimeout(hang);
              done(code);
            });
            proc.kill("SIGTERM");
          }),
      });
    });
  });
}

export function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

// Every tile on page as a line: name, kind, data-state, whether it is
// hidden and takes frames, its frame rate (full or half), its <video>'s
// state and the first line of its stats overlay, if shown.
export function tileStates(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("[data-tile]")].map((t) => {
      const v = t.querySelector("video");
      const media = v ? ` video ready=${v.readyState} ${v.videoWidth}x${v.videoHeight} paused=${v.paused} track=${v.srcObject?.getVideoTracks()[0]?.readyState}/${v.srcObject?.getVideoTracks()[0]?.muted ? "muted" : "unmuted"}` : " no video";
      const kind = `${t.hasAttribute("data-screen") ? " (screen)" : ""}${t.hasAttribute("data-self") ? " (self)" : ""}`;
      const stats = t.querySelector("[data-stats]")?.textContent?.split("\n")[0];
      return `${t.dataset.name}${kind}: ${t.dataset.state}${t.hidden ? " hidden" : ""} decoding=${t.dataset.decoding} rate=${t.dataset.rate}${media}${stats ? ` stats "${stats}"` : ""}`;
    }),
  );
}

// Awaits wait (a Playwright wait on page); when it fails, saves a
// screenshot (artifacts/e2e-WHAT.png) and fails with every tile's state, so
// that a page that was slow in CI can be told from one that was stuck;
// more, if given, adds what it resolves to.
export async function orExplain(page, what, wait, more = null) {
  try {
    return await wait;
  } catch (e) {
    const file = path.join(artifacts, `e2e-${what}.png`);
    await page.screenshot({ path: file }).catch(() => {});
    const tiles = await tileStates(page).catch((err) => `unreadable: ${err.message}`);
    const extra = more ? `\n${await more().catch((err) => `unreadable: ${err.message}`)}` : "";
    throw new Error(`${what}: ${e.message}\ntiles: ${JSON.stringify(tiles)}${extra}\nscreenshot: ${file}`, { cause: e });
  }
}

// Chromium with a fake camera and microphone. Screen sharing works headless
// as tab capture: --auto-accept-this-tab-capture plus preferCurrentTab,
// which guestContext injects. (--use-fake-ui-for-media-stream breaks it.)
export function launchMediaBrowser(extraArgs = []) {
  return launchBrowser([
    // 15 fps (the fake camera's default is 20) keeps a few pages plus the
    // SFU within a small CI machine's means.
    "--use-fake-device-for-media-stream=fps=15",
    "--auto-accept-this-tab-capture",
    "--autoplay-policy=no-user-gesture-required",
    ...extraArgs,
  ]);
}

// A browser context for one guest: camera and microphone allowed, the
// host's self-signed certificate accepted, getDisplayMedia steered to the
// current tab.
export async function guestContext(browser, { viewport = { width: 1280, height: 720 } } = {}) {
  const context = await browser.newContext({
    viewport,
    ignoreHTTPSErrors: true,
    permissions: ["camera", "microphone"],
  });
  await context.addInitScript(() => {
    const md = navigator.mediaDevices;
    if (!md || !md.getDisplayMedia) return;
    const orig = md.getDisplayMedia.bind(md);
    md.getDisplayMedia = (constraints = {}) => orig({ ...constraints, preferCurrentTab: true });
  });
  return context;
}

// The guest page URL for room on the server that printed inviteURL.
export function guestURL(inviteURL, room, { name, join = true, extra = {} } = {}) {
  const u = new URL(`/r/${encodeURIComponent(room)}`, inviteURL);
  if (name) u.searchParams.set("name", name);
  if (join) u.searchParams.set("join", "1");
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
  return u.href;
}

// A TCP relay on loopback in front of a server, to cut a page's
// connections for real, the way a laptop that changes networks loses
// them: down() resets the browser's side of every connection through it
// (the browser sees its sockets die at once) and leaves the server's side
// silent (the server notices only when its pings go unanswered), and
// refuses new connections until up(). Media (UDP, straight to the server)
// is not affected.
export async function startBlipProxy(targetURL) {
  const target = new URL(targetURL);
  const pairs = new Set();
  // Connections accepted while stalled: held open, never answered.
  const held = new Set();
  let down = false;
  let stalled = false;
  const server = net.createServer((client) => {
    client.on("error", () => {});
    if (down) {
      client.resetAndDestroy();
      return;
    }
    if (stalled) {
      held.add(client);
      client.on("close", () => held.delete(client));
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    upstream.on("error", () => {});
    const pair = { client, upstream, cut: false };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => {
      if (!pair.cut) upstream.destroy();
    });
    upstream.on("close", () => {
      pairs.delete(pair);
      // A silent cut carries no close either.
      if (!pair.stalled) client.destroy();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const via = new URL(targetURL);
  via.host = `127.0.0.1:${server.address().port}`;
  return {
    url: via.href,
    down() {
      down = true;
      for (const pair of pairs) {
        if (pair.cut) continue;
        pair.cut = true;
        pair.upstream.unpipe(pair.client);
        pair.client.unpipe(pair.upstream);
        pair.upstream.pause();
        pair.client.resetAndDestroy();
      }
    },
    // A silent cut, as a dropped Wi-Fi or a NAT that forgot us: nothing
    // gets through either way on the open connections, which stay open,
    // and new ones are accepted and never answered. Nobody is told.
    stall() {
      stalled = true;
      for (const pair of pairs) {
        if (pair.cut) continue;
        pair.cut = pair.stalled = true;
        pair.upstream.unpipe(pair.client);
        pair.client.unpipe(pair.upstream);
        pair.upstream.pause();
        pair.client.pause();
      }
    },
    // New connections go through again; the stalled ones stay dead.
    up() {
      down = false;
      stalled = false;
    },
    close: () =>
      new Promise((resolve) => {
        for (const pair of pairs) {
          pair.client.destroy();
          pair.upstream.destroy();
        }
        for (const c of held) c.destroy();
        server.close(() => resolve());
      }),
  };
}

// url (an invite link, fragment and all) with query parameters added.
export function withParams(url, params) {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

// What a file of meeting scenarios shares: one media browser, and the
// servers, pages and proxies its scenarios open, all closed when the file
// ends. Call it at the top level of the test file.
export function meetingSuite() {
  const suite = {
    browser: null,
    servers: [],
    contexts: [],
    proxies: [],
    // A page of its own (a fresh context: no shared storage) that records
    // uncaught errors in page.errors.
    async newPage(opts) {
      const context = await guestContext(suite.browser, opts);
      suite.contexts.push(context);
      const page = await context.newPage();
      page.errors = [];
      page.on("pageerror", (e) => page.errors.push(e));
      return page;
    },
    // Closes the pages of a finished scenario so they stop using CPU.
    async closeAll() {
      for (const c of suite.contexts.splice(0)) await c.close().catch(() => {});
    },
    async serve(args) {
      const server = await startServe(["--addr", "127.0.0.1:0", "--json", ...args]);
      suite.servers.push(server);
      return server;
    },
  };
  before(async () => {
    suite.browser = await launchMediaBrowser();
  });
  after(async () => {
    await suite.closeAll();
    await suite.browser?.close();
    for (const p of suite.proxies) await p.close();
    for (const s of suite.servers) await s.stop();
  });
  return suite;
}
