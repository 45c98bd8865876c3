// The lobby a browser guest sees at /r/ROOM: the room name, a camera
// preview, a microphone level meter, device pickers, camera/mic toggles and
// the display name (remembered). `?name=` pre-fills the name.

import { h } from "../dom";
import type { Device, DeviceKind, Engine, Preview } from "../engine/types";
import { cleanDisplayName } from "../protocol";
import { initials } from "../meeting/state";
import { icon } from "./icons";

export const nameKey = "parley.displayName";

export interface JoinChoice {
  name: string;
  micOff: boolean;
  cameraOff: boolean;
}

export interface GuestLobbyOptions {
  engine: Engine;
  room: string;
  storage: Pick<Storage, "getItem" | "setItem">;
  initialName: string;
  initial: { micOff: boolean; cameraOff: boolean };
  onJoin(choice: JoinChoice): void;
}

export interface GuestLobby {
  // Resolves once the camera and microphone are open (or failed).
  ready: Promise<void>;
  setBusy(busy: boolean): void;
  setError(message: string): void;
  choice(): JoinChoice | null;
  destroy(): void;
}

export function renderGuestLobby(root: HTMLElement, opts: GuestLobbyOptions): GuestLobby {
  const { engine } = opts;
  let micOff = opts.initial.micOff;
  let cameraOff = opts.initial.cameraOff;
  let preview: Preview | null = null;
  let meterFrame = 0;
  let destroyed = false;

  const nameInput = h("input", {
    id: "display-name",
    type: "text",
    maxlength: "64",
    autocomplete: "nickname",
    placeholder: "Your name",
    "aria-label": "Your name",
    required: true,
  });
  nameInput.value = opts.initialName;
  const remember = () => {
    const n = cleanDisplayName(nameInput.value);
    if (n) opts.storage.setItem(nameKey, n);
  };
  nameInput.addEventListener("change", remember);

  const video = h("video", { autoplay: true, playsinline: true, muted: true, class: "mirror" });
  video.muted = true;
  const avatar = h("div", { class: "avatar", "aria-hidden": "true" });
  const previewBox = h("div", { class: "preview", "data-preview": "loading" }, video, avatar);
  const meterFill = h("div", { class: "meter-fill" });
  const meter = h(
    "div",
    { class: "meter", role: "meter", "aria-label": "Microphone level", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" },
    meterFill,
  );
  const warnings = h("ul", { class: "warnings", role: "status" });
  const error = h("p", { class: "form-error", role: "alert" });

  const camButton = h("button", { type: "button", class: "toggle", onclick: () => setCamera(!cameraOff) });
  const micButton = h("button", { type: "button", class: "toggle", onclick: () => setMic(!micOff) });

  const pickers = h("div", { class: "pickers" });
  const joinButton = h("button", { type: "submit", class: "primary", id: "join-meeting" }, "Join meeting");

  const form = h(
    "form",
    {
      class: "guest-form",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const c = choice();
        if (!c) {
          error.textContent = "Enter your name to join.";
          nameInput.focus();
          return;
        }
        remember();
        opts.onJoin(c);
      },
    },
    h("label", { for: "display-name" }, "Name"),
    nameInput,
    joinButton,
  );

  root.replaceChildren(
    h(
      "section",
      { class: "lobby guest", "data-view": "guest-lobby" },
      h(
        "header",
        {},
        h("h1", {}, "Parley"),
        h("span", { class: "room-label" }, "Meeting ", h("strong", { "data-room": opts.room }, opts.room)),
      ),
      previewBox,
      meter,
      h("div", { class: "toggles" }, micButton, camButton),
      pickers,
      warnings,
      form,
      error,
    ),
  );

  function choice(): JoinChoice | null {
    const name = cleanDisplayName(nameInput.value);
    if (!name) return null;
    return { name, micOff, cameraOff };
  }

  function renderToggles(): void {
    micButton.replaceChildren(icon(micOff ? "mic-off" : "mic"), h("span", {}, micOff ? "Mic off" : "Mic on"));
    micButton.setAttribute("aria-label", micOff ? "Turn microphone on" : "Turn microphone off");
    micButton.classList.toggle("off", micOff);
    camButton.replaceChildren(icon(cameraOff ? "cam-off" : "cam"), h("span", {}, cameraOff ? "Camera off" : "Camera on"));
    camButton.setAttribute("aria-label", cameraOff ? "Turn camera on" : "Turn camera off");
    camButton.classList.toggle("off", cameraOff);
    const showVideo = !cameraOff && preview?.video != null;
    previewBox.dataset.preview = showVideo ? "video" : "off";
    avatar.textContent = initials(nameInput.value || "?");
  }

  function setCamera(off: boolean): void {
    cameraOff = off;
    void engine.setMuted("video", off).catch((e: unknown) => showWarning(e));
    renderToggles();
  }

  function setMic(off: boolean): void {
    micOff = off;
    void engine.setMuted("audio", off).catch((e: unknown) => showWarning(e));
    renderToggles();
  }

  function showWarning(e: unknown): void {
    warnings.append(h("li", {}, e instanceof Error ? e.message : String(e)));
  }

  nameInput.addEventListener("input", () => (avatar.textContent = initials(nameInput.value || "?")));

  async function open(sel: Partial<Record<DeviceKind, string>>): Promise<void> {
    try {
      preview = await engine.openPreview(sel);
    } catch (e) {
      preview = null;
      showWarning(e);
    }
    if (destroyed) return;
    warnings.replaceChildren(...(preview?.warnings ?? []).map((w) => h("li", {}, w)));
    const src = preview?.video;
    video.srcObject = src && src.type === "stream" ? src.stream : null;
    if (video.srcObject) void video.play().catch(() => undefined);
    // Apply the toggles to the freshly opened tracks (a device that failed
    // to open is not retried here; its toggle retries on click). A device
    // that did not open shows off, not on.
    if (preview?.video) await engine.setMuted("video", cameraOff).catch(() => undefined);
    else cameraOff = true;
    if (preview?.hasAudio) await engine.setMuted("audio", micOff).catch(() => undefined);
    else micOff = true;
    renderToggles();
  }

  async function fillPickers(): Promise<void> {
    let devices: Device[] = [];
    try {
      devices = await engine.listDevices();
    } catch {
      return;
    }
    if (destroyed) return;
    const make = (kind: DeviceKind, label: string) => {
      const list = devices.filter((d) => d.kind === kind);
      if (list.length === 0) return null;
      const id = `pick-${kind}`;
      const sel = h("select", { id });
      for (const d of list) sel.append(h("option", { value: d.deviceId }, d.label));
      sel.addEventListener("change", () => {
        if (kind === "audiooutput") void engine.selectDevice(kind, sel.value).catch((e: unknown) => showWarning(e));
        else void open({ [kind]: sel.value });
      });
      return h("div", { class: "field" }, h("label", { for: id }, label), sel);
    };
    pickers.replaceChildren(
      ...[
        make("videoinput", "Camera"),
        make("audioinput", "Microphone"),
        engine.capabilities.speakerSelection ? make("audiooutput", "Speaker") : null,
      ].filter((x): x is HTMLDivElement => x !== null),
    );
  }

  const tick = () => {
    const level = preview && !micOff ? preview.level() : 0;
    meterFill.style.transform = `scaleX(${level.toFixed(3)})`;
    meter.setAttribute("aria-valuenow", String(Math.round(level * 100)));
    meterFrame = requestAnimationFrame(tick);
  };
  meterFrame = requestAnimationFrame(tick);

  renderToggles();
  const ready = open({}).then(fillPickers);

  return {
    ready,
    setBusy(busy) {
      joinButton.disabled = busy;
      joinButton.textContent = busy ? "Joining…" : "Join meeting";
      if (busy) error.textContent = "";
    },
    setError(message) {
      error.textContent = message;
    },
    choice,
    destroy() {
      destroyed = true;
      cancelAnimationFrame(meterFrame);
      video.srcObject = null;
    },
  };
}
