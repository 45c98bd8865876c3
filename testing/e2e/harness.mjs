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
    lines.on("line", (line) => {
      const url = /(https?:\/\/\S+)/.exec(line)?.[1];
      if (!url) return;
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
