// Shared set-up for the browser end-to-end tests: a real `parley serve` and
// Debian's Chromium driven by playwright-core (never a downloaded browser).
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
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
      if (line.startsWith("{")) {
        try {
          const ev = JSON.parse(line);
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
        proc,
        stop: () =>
          new Promise((done) => {
            if (proc.exitCode !== null) return done(proc.exitCode);
            proc.once("exit", (code) => done(code));
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
