// The desktop engine: in the Parley window, Go does all of WebRTC, capture,
// audio and (when hosting) the server. This engine forwards the UI's calls
// to the Go bindings, turns Go's events into EngineEvents, and draws video
// that Go sends over the render socket (decoded here with WebCodecs).

import type { ChatMessage, EndReason, ServerMessage, TrackKind } from "../../protocol";
import { errorCodes, normalizeErrorCode } from "../../protocol";
import { parseInvite } from "../../invite";
import {
  EngineError,
  type Capabilities,
  type ConnectionState,
  type Device,
  type DeviceKind,
  type DeviceSelection,
  type Engine,
  type EngineErrorCode,
  type EngineEvent,
  type EngineListener,
  type JoinOptions,
  type JoinResult,
  type MuteKind,
  type Preview,
  type ScreenChoice,
  type TileStats,
} from "../types";
import { roomEvent } from "../roomevents";
import { RateTracker } from "../stats";
import {
  desktopBindings,
  onGoEvent,
  openInBrowser,
  type DesktopBindings,
  type DesktopJoinResult,
  type GoEvent,
} from "./bindings";
import { RenderSocket } from "./render";

// What join() joins: the room this app hosts, or an invite link.
export type DesktopTarget = { kind: "host"; password?: string; lobby?: boolean } | { kind: "join"; url: string };

const statsIntervalMs = 1000;

export class DesktopEngine implements Engine {
  readonly platform = "desktop" as const;
  readonly capabilities: Capabilities;

  private listeners = new Set<EngineListener>();
  private muted: Record<MuteKind, boolean> = { audio: false, video: false };
  private joiningNow = false;
  private target: DesktopTarget = { kind: "host" };
  private render: RenderSocket | null = null;
  private reportSeq = 0;
  // Render track id of each (participant, track) with video.
  private renderIds = new Map<string, number>();
  private selfId = "";
  private invite = "";
  private inMeeting = false;
  // Go events that arrive before join() resolves wait here, so that the
  // UI sees the welcome first.
  private early: GoEvent[] | null = null;
  private endedSeen = false;
  private statsTimer = 0;
  private sharing = false;
  private rates = new RateTracker();
  private unsubscribeGo: () => void;
  private readonly go: DesktopBindings;

  constructor(private readonly win: Window = window) {
    const go = desktopBindings(win);
    if (!go) throw new EngineError("unsupported", "the desktop engine runs only in the Parley window");
    this.go = go;
    this.capabilities = {
      speakerSelection: typeof go.SelectDevice === "function",
      screenShare: typeof go.ShareScreen === "function",
      moderation: typeof go.Admit === "function" && typeof go.Deny === "function" && typeof go.MuteParticipant === "function",
    };
    this.unsubscribeGo = onGoEvent((ev) => this.onGo(ev), win);
  }

  // Host this app's own room (the default) or join an invite link.
  setTarget(t: DesktopTarget): void {
    this.target = t;
  }

  // The invite link of the meeting this app hosts (undefined when it
  // joined someone else's, or before it has joined).
  get hostInvite(): string | undefined {
    return this.target.kind === "host" && this.invite ? this.invite : undefined;
  }

  // The password of the meeting this app hosts, to tell those invited.
  get hostPassword(): string | undefined {
    return this.target.kind === "host" && this.invite && this.target.password ? this.target.password : undefined;
  }

  on(listener: EngineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(ev: EngineEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch (e) {
        console.error("parley: engine listener failed", e);
      }
    }
  }

  private setState(state: ConnectionState): void {
    this.emit({ type: "connection", state });
  }

  // ---- devices and preview ------------------------------------------------

  async listDevices(): Promise<Device[]> {
    if (!this.go.Devices) return [];
    const list = await this.go.Devices();
    return list.map((d) => ({ kind: d.kind, deviceId: d.id, label: d.label, selected: !!d.selected }));
  }

  async maxBitrate(): Promise<number> {
    return this.go.MaxBitrate ? this.go.MaxBitrate() : 0;
  }

  async setMaxBitrate(kbps: number): Promise<void> {
    if (!this.go.SetMaxBitrate) throw new EngineError("unsupported", "This Parley window cannot cap its bandwidth.");
    await this.go.SetMaxBitrate(kbps).catch((e: unknown) => {
      throw goError(e);
    });
  }

  async openPreview(sel: DeviceSelection): Promise<Preview> {
    const warnings: string[] = [];
    for (const kind of ["videoinput", "audioinput", "audiooutput"] as const) {
      const id = sel[kind];
      if (id !== undefined && this.go.SelectDevice) {
        try {
          await this.go.SelectDevice(kind, id);
        } catch (e) {
          warnings.push(errorText(e));
        }
      }
    }
    const devices = await this.listDevices().catch(() => [] as Device[]);
    const hasAudio = devices.some((d) => d.kind === "audioinput");
    let level = 0;
    const poll = this.go.MicLevel;
    return {
      // Go shows the camera preview as our own tile once in the meeting.
      video: null,
      hasAudio,
      level: () => {
        if (poll) void poll().then((l) => (level = l), () => undefined);
        return this.muted.audio ? 0 : level;
      },
      warnings,
    };
  }

  closePreview(): void {
    // Nothing to release: Go opens devices only in a meeting.
  }

  // ---- joining and leaving ------------------------------------------------

  async join(opts: JoinOptions): Promise<JoinResult> {
    if (this.inMeeting) throw new EngineError("internal", "already in a meeting");
    this.muted = { audio: opts.micOff ?? this.muted.audio, video: opts.cameraOff ?? this.muted.video };
    this.setState("connecting");
    this.joiningNow = true;
    this.early = [];
    this.endedSeen = false;
    let res: DesktopJoinResult;
    try {
      // The lobby checks a link as it is pasted; one from the command line
      // (parley --join URL) is checked here, in the same words.
      if (this.target.kind === "join") checkInvite(this.target.url);
      await this.go.SetMuted("audio", this.muted.audio);
      await this.go.SetMuted("video", this.muted.video);
      res =
        this.target.kind === "host"
          ? await this.go.Host({
              room: opts.room,
              name: opts.name,
              password: opts.password ?? this.target.password ?? "",
              lobby: this.target.lobby ?? false,
            })
          : await this.go.Join(this.target.url, opts.name, opts.password ?? "");
    } catch (e) {
      this.early = null;
      this.setState("closed");
      throw joinError(e);
    } finally {
      this.joiningNow = false;
    }
    this.inMeeting = true;
    this.selfId = res.selfId;
    this.invite = res.invite;
    this.render = new RenderSocket(res.renderUrl, this.win);
    this.sharing = res.sharing === true;
    if (res.welcome.type === "welcome") this.emitWelcome(res.welcome);
    this.setState("connected");
    const early = this.early ?? [];
    this.early = null;
    for (const ev of early) this.onGo(ev);
    this.statsTimer = this.win.setInterval(() => this.reportStats(), statsIntervalMs);
    return { selfId: res.selfId };
  }

  leave(): void {
    // While joining, Go may be waiting in the room's waiting room: Leave
    // gives that up.
    const was = this.inMeeting || this.joiningNow;
    this.teardown();
    if (was) void this.go.Leave().catch(() => undefined);
    this.setState("closed");
  }

  reconnectNow(): void {
    // Go's client does not reconnect yet; a lost meeting is joined again
    // from the UI.
  }

  private teardown(): void {
    this.inMeeting = false;
    this.sharing = false;
    if (this.statsTimer) this.win.clearInterval(this.statsTimer);
    this.statsTimer = 0;
    this.reportStats();
    this.render?.close();
    this.render = null;
    this.renderIds.clear();
  }

  // Sends what was decoded and drawn to Go (for --report and the stats
  // overlay), with where the UI put the tiles (its data-tile contract), so
  // that a test can find a tile in a screenshot. It reports with no video
  // too: a grid left with no video tracks (the last one ended, our camera
  // is off) must replace the layout that still had them.
  private reportStats(): void {
    const tracks = this.render?.stats() ?? [];
    const layout = [...this.win.document.querySelectorAll<HTMLElement>("[data-tile]")]
      .filter((el) => !el.hidden)
      .map((el) => {
        const r = el.getBoundingClientRect();
        return {
          participant: el.dataset.name ?? "",
          self: el.hasAttribute("data-self"),
          screen: el.hasAttribute("data-screen"),
          state: el.dataset.state ?? "",
          x: r.x,
          y: r.y,
          width: r.width,
          height: r.height,
          stats: el.querySelector("[data-stats]")?.textContent ?? undefined,
        };
      });
    const report = { tracks, layout, devicePixelRatio: this.win.devicePixelRatio || 1, seq: ++this.reportSeq };
    void this.go.ReportRender(report).catch(() => undefined);
  }

  // ---- events from Go -----------------------------------------------------

  private onGo(ev: GoEvent): void {
    // Waiting is news while joining; the rest waits for the welcome.
    if (ev.type === "waiting") {
      this.emit({ type: "waiting" });
      return;
    }
    if (this.early) {
      this.early.push(ev);
      return;
    }
    switch (ev.type) {
      case "server":
        this.onServer(ev.message);
        return;
      case "media":
        this.onMedia(ev.participantId, ev.trackId, ev.renderId);
        return;
      case "connection":
        if (ev.state !== "closed" && this.inMeeting) this.setState(ev.state);
        if (ev.state === "closed" && this.inMeeting) {
          this.teardown();
          if (ev.code === "ended" && !this.endedSeen) {
            this.endedSeen = true;
            this.emit({ type: "ended", reason: (ev.message ?? "host-ended") as "host-ended" });
          } else if (ev.code && ev.code !== "ended") {
            this.emit({ type: "error", code: errorCode(ev.code), message: ev.message ?? "", fatal: true });
          }
          this.setState("closed");
        }
        return;
      case "toast":
        this.emit({ type: "error", code: "media", message: ev.message, fatal: false });
        return;
      case "screen-ended":
        this.sharing = false;
        this.emit({ type: "screen-ended" });
        return;
      case "local-mute":
        this.muted[ev.kind] = ev.muted;
        return;
    }
  }

  private onMedia(participantId: string, trackId: string, renderId: number): void {
    const key = `${participantId}\u0000${trackId}`;
    const old = this.renderIds.get(key);
    if (old !== undefined && old !== renderId) {
      this.render?.drop(old);
      this.renderIds.delete(key);
    }
    if (!renderId || !this.render) {
      this.emit({ type: "media", participantId, trackId, kind: "video", source: null });
      return;
    }
    this.renderIds.set(key, renderId);
    this.emit({ type: "media", participantId, trackId, kind: "video", source: { type: "frames", feed: this.render.track(renderId) } });
  }

  private emitWelcome(w: Extract<ServerMessage, { type: "welcome" }>): void {
    for (const t of w.tracks ?? []) if (t.participantId === w.participantId) this.ownKinds.set(t.id, t.kind);
    this.emit({
      type: "welcome",
      selfId: w.participantId,
      room: w.room,
      participants: w.participants ?? [],
      tracks: w.tracks ?? [],
      chat: w.chat ?? [],
      knocks: w.knocks ?? [],
      resumed: w.resumed === true,
    });
  }

  // Room events: what needs the engine here, the rest as roomEvent maps it.
  private onServer(m: ServerMessage): void {
    switch (m.type) {
      case "welcome":
        // Go's client resumed the session after a dropped connection.
        if (m.resumed) this.emitWelcome(m);
        return;
      case "track-published":
        if (m.track.participantId === this.selfId) this.ownKinds.set(m.track.id, m.track.kind);
        break;
      case "mute":
        // Go stops sending a track a host muted; the UI mirrors the state.
        if (m.by && m.by !== this.selfId && m.participantId === this.selfId && m.muted) this.mutedByHost(m.trackId);
        break;
      case "ended":
        if (!this.endedSeen) {
          this.endedSeen = true;
          this.emit({ type: "ended", reason: m.reason });
        }
        return;
      case "error":
        this.emit({ type: "error", code: errorCode(m.code), message: m.message, fatal: false });
        return;
    }
    // Offers, answers and candidates stay in Go: roomEvent has none.
    const ev = roomEvent(m);
    if (ev) this.emit(ev);
  }

  // ---- controls -----------------------------------------------------------

  async setMuted(kind: MuteKind, muted: boolean): Promise<void> {
    const was = this.muted[kind];
    this.muted[kind] = muted;
    try {
      await this.go.SetMuted(kind, muted);
    } catch (e) {
      // Turning on failed (no camera or microphone): it stays off.
      this.muted[kind] = was || !muted;
      throw new EngineError("media", errorText(e));
    }
  }

  isMuted(kind: MuteKind): boolean {
    return this.muted[kind];
  }

  // Kinds of the tracks Go published for us, by id: a host's mute names
  // only the track.
  private readonly ownKinds = new Map<string, TrackKind>();
  private mutedByHost(trackId: string): void {
    const kind = this.ownKinds.get(trackId);
    if (kind === "audio" || kind === "video") this.muted[kind] = true;
  }

  async selectDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    if (!this.go.SelectDevice) throw new EngineError("unsupported", "device choice is not available in this build");
    try {
      await this.go.SelectDevice(kind, deviceId);
    } catch (e) {
      throw new EngineError("media", errorText(e));
    }
  }

  async listScreens(): Promise<ScreenChoice[]> {
    if (!this.go.Screens) return [];
    try {
      return await this.go.Screens();
    } catch (e) {
      throw new EngineError("media", errorText(e));
    }
  }

  async startScreenShare(screenId = ""): Promise<void> {
    if (!this.go.ShareScreen) throw new EngineError("unsupported", "screen sharing is not available in this build");
    try {
      await this.go.ShareScreen(screenId);
      this.sharing = true;
    } catch (e) {
      throw new EngineError("media", errorText(e));
    }
  }

  // Go's counters per received track, with what this webview decoded.
  async getStats(): Promise<TileStats[]> {
    if (!this.go.Stats || !this.inMeeting) return [];
    const list = await this.go.Stats();
    const decoded = new Map((this.render?.stats() ?? []).map((r) => [r.renderId, r]));
    const now = performance.now();
    const out: TileStats[] = [];
    const keep = new Set<string>();
    for (const st of list) {
      if (st.kind === "audio") continue;
      const key = `${st.participantId}\u0000${st.trackId}`;
      keep.add(key);
      const r = this.rates.sample(key, { bytes: st.bytes, lost: st.lost, received: st.packets }, now);
      const renderId = this.renderIds.get(key);
      const d = renderId !== undefined ? decoded.get(renderId) : undefined;
      out.push({
        participantId: st.participantId,
        trackId: st.trackId,
        width: d?.width || st.width || 0,
        height: d?.height || st.height || 0,
        fps: d?.decodedFps ?? 0,
        kbps: r.kbps,
        lossPct: r.lossPct,
        rttMs: st.rttMs ?? null,
      });
    }
    this.rates.retain(keep);
    return out;
  }

  async stopScreenShare(): Promise<void> {
    if (!this.go.StopShare) return;
    await this.go.StopShare();
    this.sharing = false;
  }

  isSharingScreen(): boolean {
    return this.sharing;
  }

  // Resolves with the server's copy of the message: the next chat from us
  // with the same text.
  sendChat(text: string): Promise<ChatMessage> {
    return new Promise((resolve, reject) => {
      const timer = this.win.setTimeout(() => {
        off();
        reject(new EngineError("internal", "the chat message was not confirmed"));
      }, 10000);
      const off = this.on((ev) => {
        if (ev.type === "chat" && ev.message.from === this.selfId && ev.message.text === text.trim()) {
          this.win.clearTimeout(timer);
          off();
          resolve(ev.message);
        }
      });
      this.go.SendChat(text).catch((e: unknown) => {
        this.win.clearTimeout(timer);
        off();
        reject(new EngineError("connection-lost", errorText(e)));
      });
    });
  }

  async setLocked(locked: boolean): Promise<void> {
    await this.go.SetLocked(locked).catch((e: unknown) => Promise.reject(goError(e)));
  }

  async removeParticipant(participantId: string): Promise<void> {
    await this.go.RemoveParticipant(participantId).catch((e: unknown) => Promise.reject(goError(e)));
  }

  openLink(url: string): void {
    openInBrowser(url);
  }

  // Whether the server of the meeting this window joins answers now (a
  // meeting it hosts has no server to come back).
  async meetingAnswers(): Promise<boolean> {
    if (this.target.kind !== "join" || !this.go.MeetingAnswers) return false;
    return this.go.MeetingAnswers(this.target.url);
  }

  async endMeeting(): Promise<void> {
    await this.go.EndMeeting().catch((e: unknown) => Promise.reject(goError(e)));
  }

  // Moderation needs the Go bindings; without them (capabilities.moderation
  // false) the UI offers none of it and these say why if called anyway.
  admit(knockId: string): Promise<void> {
    return this.moderate(this.go.Admit?.bind(this.go), knockId);
  }

  deny(knockId: string): Promise<void> {
    return this.moderate(this.go.Deny?.bind(this.go), knockId);
  }

  muteParticipant(participantId: string, trackId: string): Promise<void> {
    return this.moderate(this.go.MuteParticipant?.bind(this.go), participantId, trackId);
  }

  private async moderate<A extends string[]>(call: ((...args: A) => Promise<void>) | undefined, ...args: A): Promise<void> {
    if (!call) throw moderationMissing();
    await call(...args).catch((e: unknown) => Promise.reject(goError(e)));
  }

  // Stops listening to Go (the engine is done for good).
  dispose(): void {
    this.leave();
    this.unsubscribeGo();
    this.listeners.clear();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function errorCode(code: string): EngineErrorCode {
  if (code === "connection-lost" || code === "media" || code === "unsupported") return code;
  return normalizeErrorCode(code);
}

// Go errors reach JS as strings; the protocol's error code is in them
// ("join ROOM: room-full: …"), and so are the client's own failures.
export function goError(e: unknown): EngineError {
  const text = errorText(e);
  const ended = /the meeting ended: (host-ended|removed|shutdown)\b/.exec(text);
  if (ended) return new EngineError("ended", text, ended[1] as EndReason);
  // Every protocol code but "internal", which is the fallback below.
  for (const c of errorCodes) if (c !== "internal" && text.includes(c)) return new EngineError(c, text);
  if (/identity changed/.test(text)) return new EngineError("identity", text);
  if (/certificate cannot be checked/.test(text)) return new EngineError("untrusted", text);
  if (/cannot reach|connection to the host lost/.test(text)) return new EngineError("connection-lost", text);
  return new EngineError("internal", text);
}

function moderationMissing(): EngineError {
  return new EngineError("unsupported", "This Parley window cannot admit, deny or mute others yet; use the host link in a browser.");
}

function checkInvite(url: string): void {
  try {
    parseInvite(url);
  } catch (e) {
    throw new EngineError("bad-link", errorText(e));
  }
}

function joinError(e: unknown): EngineError {
  return e instanceof EngineError ? e : goError(e);
}
