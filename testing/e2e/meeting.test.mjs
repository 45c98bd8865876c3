// Browser guests in a real meeting: three Chromium pages (fake camera and
// microphone) join one room of a real `parley serve` by its link, and check
// tiles, mute, chat, screen share, leaving, a full room and a wrong password
// through the tiles' data-* contract (frontend/src/views/tile.ts).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { after, before, describe, test } from "node:test";
import { artifacts, guestURL, meetingSuite, orExplain, parleyBin, startServe } from "./harness.mjs";

const suite = meetingSuite();
const { closeAll, serve } = suite;

// Opens a guest page for room and waits until it shows the meeting (or,
// with expectMeeting false, just loads it).
async function guest(server, room, name, { viewport, expectMeeting = true, cameraOff = false } = {}) {
  const page = await suite.newPage(viewport ? { viewport } : {});
  await page.goto(guestURL(server.url, room, { name, extra: cameraOff ? { "camera-off": "1" } : {} }));
  if (expectMeeting) await page.locator('[data-view="meeting"]').waitFor({ timeout: 15000 });
  return page;
}

const tile = (page, name) => page.locator(`[data-tile][data-name="${name}"]:not([data-screen])`);

// Resolves when fn(arg) is true in the page, or fails after timeout ms.
function until(page, fn, arg, timeout) {
  return page.waitForFunction(fn, arg, { timeout, polling: 50 });
}

// Waits until page shows every one of names live (a screenshot and the
// tiles' states when it does not).
function remoteTilesLive(page, names, timeout) {
  const live = until(
    page,
    (names) =>
      names.every((n) =>
        [...document.querySelectorAll("[data-tile]:not([data-screen]):not([data-self])")].some(
          (t) => t.dataset.name === n && t.dataset.state === "live",
        ),
      ),
    names,
    timeout,
  );
  return orExplain(page, `live-${names.join("-").replaceAll(" ", "")}`, live);
}

async function shot(page, file, viewport) {
  if (viewport) await page.setViewportSize(viewport);
  await page.waitForTimeout(600); // tile transitions settle
  await page.screenshot({ path: path.join(artifacts, file) });
}

// Every element matched by selector lies inside the box of container (the
// viewport when null), is at least min large, and overlaps no other: a
// list of what does not (1 px of rounding allowed).
function outsideOrOverlapping(page, selector, container = null, min = { width: 24, height: 24 }) {
  return page.evaluate(
    ([selector, container, min]) => {
      const box = container
        ? document.querySelector(container).getBoundingClientRect()
        : { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
      const els = [...document.querySelectorAll(selector)].map((e) => ({
        name: e.dataset.name ?? e.dataset.control ?? e.textContent.trim(),
        r: e.getBoundingClientRect(),
      }));
      const out = [];
      for (const { name, r } of els) {
        if (r.width < min.width || r.height < min.height) out.push(`${name} is ${r.width}×${r.height}`);
        if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
          out.push(`${name} at ${r.left}–${r.right} × ${r.top}–${r.bottom} leaves ${box.left}–${box.right} × ${box.top}–${box.bottom}`);
      }
      for (let i = 0; i < els.length; i++)
        for (let j = i + 1; j < els.length; j++) {
          const a = els[i].r;
          const b = els[j].r;
          if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
            out.push(`${els[i].name} overlaps ${els[j].name}`);
        }
      return out;
    },
    [selector, container, min],
  );
}

// No tile may overlap another or leave the stage.
async function assertLayoutSane(page) {
  // Tiles glide to their new place (160 ms CSS transitions); judge the layout
  // where they come to rest, not mid-flight. Two frames first, so that a
  // transition the last change starts is already running.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  await page.waitForFunction(
    () => document.getAnimations().every((a) => !(a instanceof CSSTransition) || a.playState !== "running"),
    null,
    { timeout: 3000 },
  );
  const tiles = ".stage > [data-tile]:not([hidden]), .stage > .tile-more:not([hidden])";
  const problems = await outsideOrOverlapping(page, tiles, ".stage", { width: 40, height: 30 });
  assert.deepEqual(problems, []);
}

describe("a phone-sized screen", () => {
  after(closeAll);
  test("every control of the meeting, Leave included, and the lobby's toggles are on the screen", async () => {
    const server = await serve(["--room", "phone"]);
    for (const viewport of [
      { width: 375, height: 667 },
      { width: 320, height: 568 },
    ]) {
      const lobby = await suite.newPage({ viewport });
      await lobby.goto(guestURL(server.url, "phone", { name: "Pia", join: false }));
      await lobby.locator(".toggles button").first().waitFor({ timeout: 15000 });
      assert.deepEqual(await outsideOrOverlapping(lobby, ".toggles button", ".toggles"), [], `lobby at ${viewport.width} px`);
      await lobby.close();

      const p = await guest(server, "phone", "Pia", { viewport });
      await p.locator("[data-control]").first().waitFor();
      assert.equal(await p.locator("[data-control]").count(), 8);
      assert.deepEqual(await outsideOrOverlapping(p, "[data-control]"), [], `meeting at ${viewport.width} px`);
      await p.screenshot({ path: path.join(artifacts, `meeting-phone-${viewport.width}.png`) });
      await p.locator('[data-control="leave"]').click();
      await p.locator('[data-view="left"]').waitFor({ timeout: 5000 });
      await p.close();
    }
  });
});

describe("the keyboard", () => {
  after(closeAll);
  test("Escape closes the chat, participants and devices panels, from in them or from their button, and the focus returns to their button", async () => {
    const server = await serve(["--room", "keys"]);
    const p = await guest(server, "keys", "Kim");
    const focusedControl = () => p.evaluate(() => document.activeElement?.getAttribute("data-control") ?? document.activeElement?.tagName);
    for (const [control, open] of [
      ["chat", () => p.keyboard.press("c")],
      ["participants", () => p.keyboard.press("p")],
      ["settings", () => p.locator('[data-control="settings"]').click()],
    ]) {
      await p.locator("body").click({ position: { x: 5, y: 5 } });
      await open();
      await p.locator(".panel:not([hidden])").waitFor({ timeout: 3000 });
      // Somewhere inside the panel: its close button.
      await p.locator(".panel .panel-head button").focus();
      await p.keyboard.press("Escape");
      await p.locator(".panel").waitFor({ state: "hidden", timeout: 3000 });
      assert.equal(await focusedControl(), control, `after Escape in the ${control} panel`);
      // Opened with its button, the focus still on that button.
      await p.locator(`[data-control="${control}"]`).click();
      await p.locator(".panel:not([hidden])").waitFor({ timeout: 3000 });
      await p.keyboard.press("Escape");
      await p.locator(".panel").waitFor({ state: "hidden", timeout: 3000 });
    }
  });
});

describe("three guests in one room", () => {
  let server;
  const room = "standup";
  const names = ["Ada", "Bob", "Cy"];
  const pages = {};

  before(async () => {
    server = await serve(["--room", room, "--max", "3"]);
  });
  after(closeAll);

  test("each page shows the two others live within 5 s", async () => {
    for (const n of names) {
      pages[n] = await guest(server, room, n);
      // The first is told they are alone, until someone comes.
      if (n === "Ada") await pages.Ada.locator("[data-alone]", { hasText: "You're the only one here" }).waitFor({ timeout: 5000 });
    }
    await pages.Ada.locator("[data-alone]").waitFor({ state: "hidden", timeout: 5000 });
    const t0 = Date.now();
    await Promise.all(names.map((n) => remoteTilesLive(pages[n], names.filter((m) => m !== n), 5000)));
    const took = Date.now() - t0;
    for (const n of names) {
      assert.equal(await pages[n].locator("[data-tile]:not([data-self])").count(), 2, `${n} sees two remote tiles`);
      assert.equal(await pages[n].locator("[data-tile][data-self]").count(), 1, `${n} sees a self tile`);
    }
    await assertLayoutSane(pages.Ada);
    await shot(pages.Ada, "meeting-grid-1280x720.png");
    await shot(pages.Ada, "meeting-grid-800x600.png", { width: 800, height: 600 });
    await assertLayoutSane(pages.Ada);
    await pages.Ada.setViewportSize({ width: 1280, height: 720 });
    console.log(`# all remote tiles live ${took} ms after the third join`);
  });

  // Without a GPU (the desktop window) every frame of an animation is a
  // repaint: a tile's endless loading shimmer cost the window 0.2 core.
  test("nothing in the meeting animates forever; a waiting tile shows initials and its shimmer stops", async () => {
    const found = await pages.Ada.evaluate(() => {
      const forever = document
        .getAnimations()
        .filter((a) => a.effect.getComputedTiming().iterations === Infinity)
        .map((a) => `${a.animationName ?? "?"} on ${a.effect.target?.className}`);
      const waiting = document.createElement("div");
      waiting.className = "tile";
      waiting.dataset.state = "connecting";
      const avatar = document.createElement("div");
      avatar.className = "avatar";
      waiting.append(avatar);
      document.body.append(waiting);
      const initials = getComputedStyle(avatar).display !== "none";
      const shimmer = document
        .getAnimations()
        .filter((a) => a.effect.target === waiting)
        .map((a) => a.effect.getComputedTiming().endTime);
      waiting.remove();
      return { forever, shimmer, initials };
    });
    assert.deepEqual(found.forever, [], "animations that never end");
    assert.equal(found.shimmer.length, 1, "the waiting tile shimmers");
    assert.ok(found.shimmer[0] <= 6000, `the shimmer runs ${found.shimmer[0]} ms`);
    assert.ok(found.initials, "the waiting tile hides its initials");
  });

  test("muting shows data-muted=true on the other pages within 1 s", async () => {
    await Promise.all(["Bob", "Cy"].map((n) => tile(pages[n], "Ada").and(pages[n].locator('[data-muted="false"]')).waitFor()));
    await pages.Ada.getByRole("button", { name: /^Mute microphone/ }).click();
    const t0 = Date.now();
    await Promise.all(["Bob", "Cy"].map((n) => tile(pages[n], "Ada").and(pages[n].locator('[data-muted="true"]')).waitFor({ timeout: 1000 })));
    console.log(`# mute seen by the others after ${Date.now() - t0} ms`);
    // Own tile and participant list agree; unmuting with the M key works.
    await tile(pages.Ada, "Ada").and(pages.Ada.locator('[data-muted="true"]')).waitFor({ timeout: 3000 });
    await pages.Ada.keyboard.press("m");
    await Promise.all(["Bob", "Cy"].map((n) => tile(pages[n], "Ada").and(pages[n].locator('[data-muted="false"]')).waitFor({ timeout: 3000 })));
  });

  test("turning the camera off shows the avatar (video-off) on the others", async () => {
    await pages.Bob.keyboard.press("v");
    await Promise.all(["Ada", "Cy"].map((n) => tile(pages[n], "Bob").and(pages[n].locator('[data-state="video-off"]')).waitFor({ timeout: 5000 })));
    await pages.Bob.keyboard.press("v");
    await Promise.all(["Ada", "Cy"].map((n) => tile(pages[n], "Bob").and(pages[n].locator('[data-state="live"]')).waitFor({ timeout: 3000 })));
  });

  test("a chat message reaches the other two, with an unread badge", async () => {
    await pages.Ada.keyboard.press("c");
    const box = pages.Ada.getByRole("textbox", { name: "Message" });
    // Too long is said, not cut to fit: the text stays to be shortened.
    await box.fill("x".repeat(4001));
    await box.press("Enter");
    await pages.Ada.locator(".chat-error", { hasText: "too long" }).waitFor({ timeout: 3000 });
    assert.equal((await box.inputValue()).length, 4001);
    await box.fill("Can everyone see my screen?");
    await box.press("Enter");
    await pages.Ada.locator(".chat-text", { hasText: "Can everyone see my screen?" }).waitFor({ timeout: 5000 });
    for (const n of ["Bob", "Cy"]) {
      const p = pages[n];
      await p.locator('.ctl-chat .badge[data-unread="1"]').waitFor({ timeout: 5000 });
      await p.getByRole("button", { name: /^Chat/ }).click();
      // Rendering waits for the page's next frame, which three pages that
      // each encode and decode video can delay past a second on 2 cores.
      await p.locator(".chat-text", { hasText: "Can everyone see my screen?" }).waitFor({ timeout: 3000 });
      assert.equal(await p.locator(".chat-group .chat-name").first().textContent(), "Ada");
      assert.equal(await p.locator(".ctl-chat .badge").isHidden(), true);
      await p.getByRole("button", { name: "Close chat" }).click();
    }
    await pages.Ada.keyboard.press("Escape");
    // Closed before the next test types: a key pressed before the page
    // draws the close would still go to the chat's text box.
    await pages.Ada.locator(".panel").waitFor({ state: "hidden", timeout: 3000 });
  });

  test("a web link in chat can be clicked, and only a web link", async () => {
    await pages.Ada.keyboard.press("c");
    const box = pages.Ada.getByRole("textbox", { name: "Message" });
    await box.fill("Notes at https://example.org/notes?id=7. Not javascript:alert(1)");
    await box.press("Enter");
    const bob = pages.Bob;
    await bob.getByRole("button", { name: /^Chat/ }).click();
    const msg = bob.locator(".chat-text", { hasText: "Notes at" });
    await msg.waitFor({ timeout: 3000 });
    const links = await msg.locator("a").evaluateAll((as) => as.map((a) => [a.getAttribute("href"), a.textContent, a.target, a.rel]));
    assert.deepEqual(links, [["https://example.org/notes?id=7", "https://example.org/notes?id=7", "_blank", "noopener noreferrer"]]);
    assert.equal(await msg.textContent(), "Notes at https://example.org/notes?id=7. Not javascript:alert(1)");
    await bob.getByRole("button", { name: "Close chat" }).click();
    await pages.Ada.keyboard.press("Escape");
    await pages.Ada.locator(".panel").waitFor({ state: "hidden", timeout: 3000 });
  });

  test("someone reading back up in chat is told of a new message, not pulled down", async () => {
    const bob = pages.Bob;
    await bob.getByRole("button", { name: /^Chat/ }).click();
    await pages.Ada.keyboard.press("c");
    const box = pages.Ada.getByRole("textbox", { name: "Message" });
    await box.fill(Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join("\n"));
    await box.press("Enter");
    const list = bob.locator(".chat-list");
    await bob.locator(".chat-text", { hasText: "line 60" }).waitFor({ timeout: 3000 });
    await list.evaluate((l) => l.scrollTo(0, 0));
    await box.fill("one more");
    await box.press("Enter");
    await bob.locator(".chat-text", { hasText: "one more" }).waitFor({ state: "attached", timeout: 3000 });
    assert.equal(await list.evaluate((l) => l.scrollTop), 0, "still where they were reading");
    await bob.getByRole("button", { name: "New messages below" }).click();
    await bob.getByRole("button", { name: "New messages below" }).waitFor({ state: "hidden", timeout: 1000 });
    assert.ok(await list.evaluate((l) => l.scrollHeight - l.scrollTop - l.clientHeight < 40), "at the newest message");
    await bob.getByRole("button", { name: "Close chat" }).click();
    await pages.Ada.keyboard.press("Escape");
    await pages.Ada.locator(".panel").waitFor({ state: "hidden", timeout: 3000 });
  });

  test("pinning a tile makes it large, with the others in a strip", async () => {
    const p = pages.Bob;
    await p.getByRole("button", { name: "Pin Ada" }).click();
    await p.locator('[data-tile][data-pinned][data-name="Ada"]').waitFor({ timeout: 5000 });
    assert.equal(await p.locator(".stage").getAttribute("data-layout"), "stage");
    await assertLayoutSane(p);
    await p.getByRole("button", { name: "Unpin Ada" }).click();
    await until(p, () => document.querySelector(".stage").dataset.layout === "grid", null, 5000);
  });

  test("the participant list shows everyone with their mute state", async () => {
    const p = pages.Cy;
    await p.keyboard.press("p");
    const rows = p.locator(".people .person");
    await until(p, () => document.querySelectorAll(".people .person").length === 3, null, 5000);
    assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.dataset.name)), ["Cy", "Ada", "Bob"]);
    await p.keyboard.press("p");
  });

  test("a screen share becomes its own live tile on the others", async () => {
    await pages.Ada.getByRole("button", { name: /^Share screen/ }).click();
    await pages.Ada.locator(".banner", { hasText: "You are sharing your screen" }).waitFor({ timeout: 5000 });
    // A panel open in a narrow window lies over the stage, never over the
    // banner's Stop button; from 720 px up it sits beside the stage.
    for (const viewport of [
      { width: 560, height: 400 },
      { width: 800, height: 600 },
    ]) {
      await pages.Ada.setViewportSize(viewport);
      await pages.Ada.locator('[data-control="settings"]').click();
      await pages.Ada.locator(".panel:not([hidden])").waitFor({ timeout: 3000 });
      const cover = await pages.Ada.locator(".banner button").evaluate((b) => {
        const r = b.getBoundingClientRect();
        const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return at === b || b.contains(at) ? "" : (at?.outerHTML.slice(0, 80) ?? "nothing");
      });
      assert.equal(cover, "", `Stop sharing at ${viewport.width}×${viewport.height} is under ${cover}`);
      if (viewport.width > 720) {
        assert.deepEqual(await outsideOrOverlapping(pages.Ada, ".stage, .panel", null, { width: 100, height: 100 }), [], `panel beside the stage at ${viewport.width} px`);
      }
      await pages.Ada.keyboard.press("Escape");
      await pages.Ada.locator(".panel").waitFor({ state: "hidden", timeout: 3000 });
    }
    await pages.Ada.setViewportSize({ width: 1280, height: 720 });
    const t0 = Date.now();
    for (const n of ["Bob", "Cy"]) {
      await pages[n].locator('[data-tile][data-screen][data-name="Ada"][data-state="live"]').waitFor({ timeout: 10000 });
    }
    console.log(`# screen tile live on the others after ${Date.now() - t0} ms`);
    // Capped at 1280×720 by the sender.
    const size = await pages.Bob.locator("[data-tile][data-screen] video").evaluate((v) => [v.videoWidth, v.videoHeight]);
    assert.ok(size[0] > 0 && size[0] <= 1280 && size[1] <= 720, `screen video is ${size}`);
    assert.equal(await pages.Bob.locator(".stage").getAttribute("data-layout"), "stage");
    // Its label starts with a screen icon, which a small tile that cuts the
    // label's "· screen" still shows.
    assert.equal(await pages.Bob.locator("[data-tile][data-screen] .tile-label > :first-child svg.icon-screen").count(), 1);
    // The camera tiles are still there, in the strip.
    assert.equal(await pages.Bob.locator("[data-tile]:not([data-screen])").count(), 3);
    await assertLayoutSane(pages.Bob);
    await shot(pages.Bob, "meeting-screenshare-1280x720.png");
    await shot(pages.Bob, "meeting-screenshare-800x600.png", { width: 800, height: 600 });
    await assertLayoutSane(pages.Bob);
    await pages.Bob.setViewportSize({ width: 1280, height: 720 });

    await pages.Ada.getByRole("button", { name: /^Stop sharing screen/ }).click();
    await pages.Bob.locator("[data-tile][data-screen]").waitFor({ state: "detached", timeout: 3000 });
  });

  test("a fourth guest over --max 3 gets the room-full screen", async () => {
    const p = await guest(server, room, "Dee", { expectMeeting: false });
    await p.locator('[data-view="room-full"]').waitFor({ timeout: 10000 });
    await p.getByRole("heading", { name: "This meeting is full" }).waitFor();
    await p.getByRole("button", { name: "Try again" }).waitFor();
    await p.context().close();
  });

  test("a guest who leaves disappears from the others within 2 s", async () => {
    await pages.Cy.getByRole("button", { name: "Leave meeting" }).click();
    const t0 = Date.now();
    await Promise.all(["Ada", "Bob"].map((n) => tile(pages[n], "Cy").waitFor({ state: "detached", timeout: 2000 })));
    console.log(`# leaver's tile gone after ${Date.now() - t0} ms`);
    await pages.Cy.locator('[data-view="left"]').waitFor();
    await pages.Ada.locator(".toast", { hasText: "Cy left" }).waitFor({ timeout: 5000 });
  });

  test("no page threw", () => {
    for (const n of names) assert.deepEqual(pages[n].errors, [], `${n}'s page errors`);
  });
});

describe("host controls", () => {
  after(closeAll);

  test("the host locks the room, removes a guest and ends the meeting", async () => {
    const server = await serve(["--room", "mod"]);
    // Cameras off: this scenario is about signaling, not video.
    const ada = await guest(server, "mod", "Ada", { cameraOff: true });
    const bob = await guest(server, "mod", "Bob", { cameraOff: true });
    const cy = await guest(server, "mod", "Cy", { cameraOff: true });
    await tile(ada, "Cy").waitFor();
    await tile(bob, "Ada").and(bob.locator('[data-state="video-off"]')).waitFor();

    await ada.keyboard.press("p");
    await ada.locator('.people .person[data-name="Ada"] .tag.host').waitFor();
    // Guests get no host controls.
    await bob.keyboard.press("p");
    await bob.locator('.people .person[data-name="Bob"]').waitFor();
    assert.equal(await bob.locator('[data-action="end"], .people .remove').count(), 0);

    await ada.getByRole("button", { name: "Lock meeting" }).click();
    await ada.getByRole("button", { name: "Unlock meeting" }).waitFor({ timeout: 3000 });
    const dee = await guest(server, "mod", "Dee", { expectMeeting: false, cameraOff: true });
    await dee.locator('[data-view="denied"]').waitFor({ timeout: 10000 });
    await ada.getByRole("button", { name: "Unlock meeting" }).click();
    await ada.getByRole("button", { name: "Lock meeting" }).waitFor({ timeout: 3000 });

    await ada.getByRole("button", { name: "Remove Bob" }).click();
    await bob.locator('[data-view="removed"]').waitFor({ timeout: 3000 });
    await tile(ada, "Bob").waitFor({ state: "detached", timeout: 2000 });
    await tile(cy, "Bob").waitFor({ state: "detached", timeout: 2000 });
    // Removed holds: the same browser comes back only if a host lets it in.
    await bob.goto(guestURL(server.url, "mod", { name: "Bob" }));
    await bob.locator('[data-view="waiting"]').waitFor({ timeout: 10000 });
    // Ada's participants panel is open: Bob waits there, not in a prompt
    // over the tiles, and the Participants button counts him.
    await ada.locator('.waiting .person[data-name="Bob"]', { hasText: "removed earlier" }).waitFor({ timeout: 5000 });
    await ada.getByRole("heading", { name: "Waiting to join (1)" }).waitFor();
    await ada.getByRole("button", { name: "Participants, 2, 1 waiting (P)" }).waitFor();
    assert.equal(await ada.locator(".knocks .knock").count(), 0);
    await ada.screenshot({ path: path.join(artifacts, "meeting-waiting-in-panel.png") });
    await ada.getByRole("button", { name: "Deny Bob" }).click();
    await ada.locator(".waiting").waitFor({ state: "hidden", timeout: 5000 });
    await bob.locator('[data-view="lobby-denied"]').waitFor({ timeout: 5000 });

    await ada.getByRole("button", { name: "End meeting for everyone" }).click();
    await ada.getByRole("button", { name: "Click again to end for everyone" }).click();
    await cy.locator('[data-view="host-ended"]').waitFor({ timeout: 3000 });
    await cy.getByRole("heading", { name: "The host ended the meeting" }).waitFor();
    await ada.locator('[data-view="host-ended"]').waitFor({ timeout: 3000 });
    await ada.getByRole("heading", { name: "You ended the meeting for everyone" }).waitFor();
  });
});

describe("losing the server", () => {
  after(closeAll);

  function freePort() {
    return new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.on("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
  }

  test("a dropped connection shows 'Reconnecting…' with a button, and rejoins", async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    let server = await startServe(["--addr", addr, "--json", "--room", "net"]);
    const p = await guest(server, "net", "Gus", { cameraOff: true });
    await tile(p, "Gus").waitFor();
    server.proc.kill("SIGKILL"); // no `ended`: the socket just drops
    await p.locator('[data-view="reconnecting"]').waitFor({ timeout: 5000 });
    await p.getByRole("button", { name: "Reconnect now" }).waitFor();
    await p.getByText(/Retrying/).waitFor({ timeout: 5000 });

    // A new server has no session to resume: the page joins it afresh.
    server = await startServe(["--addr", addr, "--json", "--room", "net"]);
    suite.servers.push(server);
    // The backoff may win the race to reconnect; the button must not be needed.
    await p.getByRole("button", { name: "Reconnect now" }).click({ timeout: 2000 }).catch(() => {});
    await p.locator('[data-view="reconnecting"]').waitFor({ state: "hidden", timeout: 15000 });
    await tile(p, "Gus").waitFor({ timeout: 5000 });
    assert.equal(await p.locator('[data-view="meeting"]').count(), 1);
  });

  test("a server that shuts down says so, and the page rejoins when it is back, still muted", async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    const server = await startServe(["--addr", addr, "--json", "--room", "bye"]);
    const p = await guest(server, "bye", "Hal", {});
    // Turned off in the meeting, after the lobby: coming back by itself
    // must not turn them on again.
    await p.getByRole("button", { name: "Mute microphone" }).click();
    await p.getByRole("button", { name: "Turn camera off" }).click();
    await p.getByRole("button", { name: "Unmute microphone" }).waitFor({ timeout: 3000 });
    await server.stop();
    await p.locator('[data-view="shutdown"]', { hasText: "rejoins by itself" }).waitFor({ timeout: 5000 });
    const again = await startServe(["--addr", addr, "--json", "--room", "bye"]);
    suite.servers.push(again);
    // The page looks every 3 s; nothing is clicked.
    await p.locator('[data-view="meeting"]').waitFor({ timeout: 15000 });
    await tile(p, "Hal").waitFor({ timeout: 5000 });
    await p.getByRole("button", { name: "Unmute microphone" }).waitFor({ timeout: 3000 });
    await p.getByRole("button", { name: "Turn camera on" }).waitFor({ timeout: 3000 });
  });
});

describe("a room with a password", () => {
  after(closeAll);
  test("a wrong password asks again; the right one joins", async () => {
    const server = await serve(["--room", "secret", "--password", "s3cret"]);
    const p = await guest(server, "secret", "Eve", { expectMeeting: false });
    await p.locator('[data-view="password"]').waitFor({ timeout: 10000 });
    await p.getByLabel("Meeting password").fill("wrong");
    await p.getByRole("button", { name: "Join" }).click();
    await p.locator('[data-view="password"] [data-error="bad-password"]').waitFor({ timeout: 10000 });
    await p.getByLabel("Meeting password").fill("s3cret");
    await p.getByRole("button", { name: "Join" }).click();
    await p.locator('[data-view="meeting"]').waitFor({ timeout: 10000 });
    await tile(p, "Eve").waitFor();
  });
});

// `parley join --source test` bots, with their --json events.
function startBot(url, name, durationS) {
  const proc = spawn(parleyBin, ["join", url, "--name", name, "--source", "test", "--duration", `${durationS}s`, "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events = [];
  readline.createInterface({ input: proc.stdout }).on("line", (l) => {
    try {
      events.push(JSON.parse(l));
    } catch {
      // not an event
    }
  });
  const stderr = [];
  proc.stderr.on("data", (d) => stderr.push(d));
  const done = new Promise((resolve) => proc.on("exit", (code) => resolve({ code, events, stderr: Buffer.concat(stderr).toString() })));
  return { proc, events, done };
}

describe("a browser guest with two bots", () => {
  after(closeAll);
  test("the page shows both bots live, decodes half a small tile's frames, and the bots receive the page's video", async () => {
    const server = await serve(["--room", "bots"]);
    const p = await guest(server, "bots", "Fay");
    const bots = [startBot(server.url, "Bot One", 16), startBot(server.url, "Bot Two", 16)];
    try {
      await remoteTilesLive(p, ["Bot One", "Bot Two"], 10000);
      // In a grid of three, the tiles other than the active speaker's are
      // drawn small (data-rate="half"): the host then sends only the
      // bot's reference frames, 15 of its 30 a second, and the browser
      // decodes only those (the stats overlay's fps).
      await p.locator("body").press("i");
      await orExplain(
        p,
        "half-rate-tile",
        p.waitForFunction(
          () =>
            [...document.querySelectorAll('[data-tile][data-rate="half"]:not([data-self])')].some((t) => {
              const m = /· ([\d.]+) fps/.exec(t.querySelector("[data-stats]")?.textContent ?? "");
              return m !== null && Number(m[1]) > 5 && Number(m[1]) <= 20;
            }),
          null,
          { timeout: 10000, polling: 250 },
        ),
      );
    } catch (e) {
      for (const b of bots) if (b.proc.exitCode === null) b.proc.kill("SIGINT");
      throw e;
    }
    // The bots then run out their 16 s: the page's video reaches a bot
    // once the bot has subscribed and the page has sent it a keyframe,
    // which can be after the page shows the bots (CI once stopped them
    // 150 ms into their subscription, before any video).
    for (const b of bots) {
      const { code, events, stderr } = await b.done;
      assert.equal(code, 0, stderr);
      const stats = events.find((e) => e.event === "stats");
      assert.ok(stats, `no stats event: ${JSON.stringify(events)}`);
      const video = stats.tracks.find((t) => t.participant === "Fay" && t.kind === "video");
      assert.ok(video && video.frames > 0, `the bot got no video from the page: ${JSON.stringify(stats)}`);
    }
  });
});

describe("a sender whose video stops", () => {
  after(closeAll);
  test("its tile says 'video paused' after 3 s without frames, and stops saying so when they return", async () => {
    const server = await serve(["--room", "frozen"]);
    const p = await guest(server, "frozen", "Gus");
    const bot = startBot(server.url, "Bot", 40);
    try {
      await remoteTilesLive(p, ["Bot"], 10000);
      const botTile = tile(p, "Bot");
      assert.equal(await botTile.getAttribute("data-paused"), null);
      // Frozen, the bot sends nothing; its signaling socket outlives the
      // pause (the server gives up on a silent one after 6 s or more).
      bot.proc.kill("SIGSTOP");
      const stoppedAt = Date.now();
      try {
        await orExplain(p, "video-paused", botTile.and(p.locator("[data-paused]")).waitFor({ timeout: 6000 }));
        // The sign waits: a freeze of a second (a camera switch, a
        // keyframe after loss) passes without it.
        assert.ok(Date.now() - stoppedAt >= 2500, `paused after ${Date.now() - stoppedAt} ms`);
        assert.equal(await botTile.getAttribute("data-state"), "stale");
        assert.equal(await botTile.locator(".tile-badge").textContent(), "video paused");
        assert.ok(await botTile.locator(".tile-badge").isVisible());
        // The frozen picture is dimmed, so it does not pass for a still person.
        assert.equal(await botTile.locator(".tile-media").evaluate((m) => getComputedStyle(m).opacity), "0.4");
        await p.screenshot({ path: path.join(artifacts, "meeting-video-paused.png") });
      } finally {
        bot.proc.kill("SIGCONT");
      }
      await orExplain(
        p,
        "video-resumed",
        botTile.and(p.locator('[data-state="live"]:not([data-paused])')).waitFor({ timeout: 5000 }),
      );
      assert.ok(await botTile.locator(".tile-badge").isHidden());
    } finally {
      if (bot.proc.exitCode === null) bot.proc.kill("SIGINT");
      await bot.done;
    }
  });
});
