import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { artifacts, launchBrowser, parleyBin, startServe } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServe(["--addr", "127.0.0.1:0"]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("parley serve shows the lobby to Chromium", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(server.url);
  await page.getByRole("button", { name: "Host a meeting" }).waitFor();
  await page.getByRole("button", { name: "Join by link" }).waitFor();
  await page.getByRole("heading", { name: "On this network" }).waitFor();
  assert.equal(await page.title(), "Parley");
  await page.screenshot({ path: path.join(artifacts, "browser-lobby.png") });
  assert.deepEqual(errors, []);
});

test("an invite path serves the same app", async () => {
  const page = await browser.newPage();
  await page.goto(new URL("r/team-sync", server.url).href);
  await page.getByRole("button", { name: "Join by link" }).waitFor();
});

test("a bad invite link gets a clear message", async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.getByLabel("Invite link").fill("ftp://example/r/x");
  await page.getByRole("button", { name: "Join by link" }).click();
  await page.getByText("Invite links start with https://").waitFor();
});

test("the display name is remembered", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  await page.getByLabel("Your name").fill("Ada");
  await page.getByLabel("Your name").press("Tab");
  await page.reload();
  assert.equal(await page.getByLabel("Your name").inputValue(), "Ada");
  await context.close();
});

test("an unknown command exits 2 with usage", () => {
  const res = spawnSync(parleyBin, ["bogus"], { encoding: "utf8" });
  assert.equal(res.status, 2);
  assert.match(res.stderr, /unknown command "bogus"/);
  assert.match(res.stderr, /Usage: parley/);
});
