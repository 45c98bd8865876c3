import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { artifacts, launchBrowser, orExplain, parleyBin, startServe } from "./harness.mjs";

let server;
let browser;
let root; // the app's start page (the printed URL is an invite link, /r/ROOM)

before(async () => {
  server = await startServe(["--addr", "127.0.0.1:0"]);
  root = new URL("/", server.url).href;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// The host's certificate is self-signed: accept it as a guest would once.
const newPage = async (opts = {}) => (await browser.newContext({ ignoreHTTPSErrors: true, ...opts })).newPage();

test("parley serve shows the lobby to Chromium", async () => {
  const page = await newPage({ viewport: { width: 1280, height: 720 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(root);
  await page.getByRole("button", { name: "Host a meeting" }).waitFor();
  await page.getByRole("button", { name: "Join by link" }).waitFor();
  await page.getByRole("heading", { name: "On this network" }).waitFor();
  assert.equal(await page.title(), "Parley");
  await page.screenshot({ path: path.join(artifacts, "browser-lobby.png") });
  assert.deepEqual(errors, []);
});

test("an invite link opens the guest lobby for its room", async () => {
  const page = await newPage();
  await page.goto(new URL("r/team-sync", root).href);
  await page.locator('[data-view="guest-lobby"] [data-room="team-sync"]').waitFor();
  await page.getByRole("button", { name: "Join meeting" }).waitFor();
});

test("a bad invite link gets a clear message", async () => {
  const page = await newPage();
  await page.goto(root);
  await page.getByLabel("Invite link").fill("ftp://example/r/x");
  await page.getByRole("button", { name: "Join by link" }).click();
  await page.getByText("Invite links start with https://").waitFor();
});

test("joining by link in a browser opens that room's page", async () => {
  const page = await newPage();
  await page.goto(root);
  await page.getByLabel("Your name").fill("Ada");
  await page.getByLabel("Invite link").fill(new URL("r/daily", root).href);
  await page.getByRole("button", { name: "Join by link" }).click();
  await page.locator('[data-view="guest-lobby"] [data-room="daily"]').waitFor();
  assert.equal(await page.getByLabel("Your name").inputValue(), "Ada");
});

test("the display name is remembered", async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(root);
  await page.getByLabel("Your name").fill("Ada");
  await page.getByLabel("Your name").press("Tab");
  await page.reload();
  assert.equal(await page.getByLabel("Your name").inputValue(), "Ada");
  // …and the guest lobby of any room offers it.
  await page.goto(new URL("r/team-sync", root).href);
  assert.equal(await page.getByLabel("Your name").inputValue(), "Ada");
  await context.close();
});

test("a guest with no camera or microphone joins, and its Devices panel says none was found", async () => {
  // This browser has no fake devices: Chromium headless then has none.
  const page = await newPage();
  await page.goto(new URL("r/meeting?name=Nia", root).href);
  // The lobby's toggles say off: there is nothing to turn on.
  await page.locator(".toggles button", { hasText: "Mic off" }).waitFor({ timeout: 10000 });
  await page.locator(".toggles button", { hasText: "Camera off" }).waitFor({ timeout: 10000 });
  await page.getByRole("button", { name: "Join meeting" }).click();
  await orExplain(page, "no-devices-joined", page.locator("[data-tile][data-self]").waitFor({ timeout: 20000 }));
  await page.locator('[data-control="settings"]').click();
  for (const [label, none] of [
    ["Camera", "No camera found"],
    ["Microphone", "No microphone found"],
  ]) {
    const select = page.getByLabel(label, { exact: true });
    await select.waitFor({ timeout: 5000 });
    assert.equal(await select.isDisabled(), true, `${label} picker`);
    assert.deepEqual(await select.locator("option").allTextContents(), [none], `${label} picker`);
  }
});

test("an unknown command exits 2 with usage", () => {
  const res = spawnSync(parleyBin, ["bogus"], { encoding: "utf8" });
  assert.equal(res.status, 2);
  assert.match(res.stderr, /unknown command "bogus"/);
  assert.match(res.stderr, /Usage: parley/);
});
