// The browser engine: a guest in Chrome/Firefox/Safari joins with the
// browser's own WebRTC. Two PeerConnections per PROTOCOL.md §5: "publish"
// (we offer, the server answers) and "subscribe" (the server offers, we
// answer), trickle ICE both ways.

import type { ChatMessage, IceCandidate, IceServer, PCName, ServerMessage, TrackKind } from "../protocol";
import { normalizeErrorCode, protocolVersion } from "../protocol";
import { deviceId } from "../device";
import { cameraConstraints, describeMediaError, LevelMeter, listMediaDevices, micConstraints, screenConstraints } from "./media";
import { defaultReconnectPolicy, Reconnector, type AttemptResult, type ReconnectPolicy } from "./reconnect";
import { bindingKey, diffBindings, parseSections, type Binding } from "./sdp";
import { roomEvent } from "./roomevents";
import { SignalingSocket, signalingURL } from "./signaling";
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
  type Quality,
  type TileStats,
} from "./types";
import { browserStats, RateTracker } from "./stats";

// A tile off the stage this long has its video paused at the host: a
// tile that only steps aside while the active speaker changes keeps it,
// sparing the publisher a keyframe on its return.
const pauseDelayMs = 1000;

// hello errors after which retrying the same hello cannot help.
const fatalJoinCodes: ReadonlySet<EngineErrorCode> = new Set([
  "room-full",
  "bad-password",
  "bad-token",
  "token-expired",
  "token-used",
  "rate-limited",
  "denied",
  "not-found",
  "version",
  "bad-request",
]);

// A resume is worth a quick try: a server that does not answer within this
// is retried on the backoff schedule.
const resumeOpenTimeoutMs = 5000;
const iceCheckMs = 500;
const iceRestartEveryMs = 3000;

type Welcome = Extract<ServerMessage, { type: "welcome" }>;

interface Dialled {
  ws: SignalingSocket;
  welcome: Welcome;
  early: ServerMessage[];
}

interface LocalSlot {
  kind: TrackKind;
  track: MediaStreamTrack | null;
  transceiver: RTCRtpTransceiver | null;
  // The msid track id announced with `publish` (fixed for the sender's
  // life, even when replaceTrack swaps the MediaStreamTrack).
  announcedId: string | null;
}

interface Session {
  // Replaced when the session resumes on a new socket.
  ws: SignalingSocket;
  selfId: string;
  resumeToken: string;
  iceServers: RTCIceServer[];
  pub: RTCPeerConnection | null;
  sub: RTCPeerConnection | null;
  pubChain: Promise<void>;
  subChain: Promise<void>;
  pubOfferSent: boolean;
  // A publish negotiation died with the socket: redo it once resumed.
  republish: boolean;
  localPubCandidates: (IceCandidate | null)[];
  remoteCandidates: Record<PCName, (IceCandidate | null)[]>;
  bindings: Map<string, Binding>;
  audio: Map<string, HTMLAudioElement>;
  quality: Map<string, Quality>;
  lastStats: Map<string, { lost: number; received: number }>;
  lastRestart: Record<PCName, number>;
  statsTimer: number;
  iceTimer: number;
  closed: boolean;
}

export class BrowserEngine implements Engine {
  readonly platform = "browser" as const;
  readonly capabilities: Capabilities;

  private listeners = new Set<EngineListener>();
  private slots: Record<TrackKind, LocalSlot> = {
    audio: { kind: "audio", track: null, transceiver: null, announcedId: null },
    video: { kind: "video", track: null, transceiver: null, announcedId: null },
    screen: { kind: "screen", track: null, transceiver: null, announcedId: null },
  };
  private muted: Record<MuteKind, boolean> = { audio: false, video: false };
  private selection: DeviceSelection = {};
  private meter = new LevelMeter();
  private rates = new RateTracker();
  private session: Session | null = null;
  private joinOpts: JoinOptions | null = null;
  private wantConnected = false;
  // The socket of a hello still waiting for its welcome (in the lobby).
  private joining: SignalingSocket | null = null;
  private readonly reconnector: Reconnector;
  private audioBlocked = false;
  // localStorage "parley.debug" = "1" logs signaling and media steps.
  private readonly debug: boolean;
  private readonly device: string;

  constructor(
    private readonly win: Window = window,
    reconnectPolicy: ReconnectPolicy = defaultReconnectPolicy,
  ) {
    const md = win.navigator.mediaDevices;
    let debug = false;
    let storage: Storage | null = null;
    try {
      storage = win.localStorage;
      debug = storage?.getItem("parley.debug") === "1";
    } catch {
      // storage blocked
    }
    this.debug = debug;
    this.device = deviceId(storage);
    this.capabilities = {
      speakerSelection: typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype,
      screenShare: typeof md?.getDisplayMedia === "function",
      moderation: true,
    };
    this.reconnector = new Reconnector(
      reconnectPolicy,
      {
        now: () => Date.now(),
        setTimeout: (fn, ms) => win.setTimeout(fn, ms),
        clearTimeout: (id) => win.clearTimeout(id),
      },
      () => this.attemptReconnect(),
      {
        waiting: (attempt, delay) => this.setState("reconnecting", { attempt, retryInMs: delay }),
        gaveUp: () => this.giveUp(),
      },
    );
  }

  on(listener: EngineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private log(...args: unknown[]): void {
    if (this.debug) console.debug(`parley ${(performance.now() / 1000).toFixed(3)}`, ...args);
  }

  private emit(ev: EngineEvent): void {
    if (this.debug && ev.type !== "speaking" && ev.type !== "quality") this.log("event", ev.type, JSON.stringify(ev, (k, v) => (k === "source" && v ? "[source]" : v)));
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch (e) {
        console.error("parley: engine listener failed", e);
      }
    }
  }

  private fail(code: EngineErrorCode, message: string, fatal = false): void {
    this.emit({ type: "error", code, message, fatal });
  }

  // ---- devices and preview ------------------------------------------------

  listDevices(): Promise<Device[]> {
    return listMediaDevices();
  }

  // The first offer in a page initialises the browser's WebRTC stack and
  // enumerates network interfaces, which takes a second or more on a busy
  // machine. Doing it once while the user is in the lobby makes joining
  // faster: a throwaway PeerConnection creates an offer and gathers.
  private warmedUp = false;
  private warmUp(): void {
    if (this.warmedUp || typeof RTCPeerConnection === "undefined") return;
    this.warmedUp = true;
    let pc: RTCPeerConnection;
    try {
      pc = new RTCPeerConnection();
    } catch {
      return;
    }
    const done = () => pc.close();
    const timer = this.win.setTimeout(done, 5000);
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === "complete") {
        this.win.clearTimeout(timer);
        done();
      }
    };
    pc.addTransceiver("audio", { direction: "sendonly" });
    pc.addTransceiver("video", { direction: "sendonly" });
    pc.createOffer()
      .then((o) => pc.setLocalDescription(o))
      .catch(() => {
        this.win.clearTimeout(timer);
        done();
      });
  }

  async openPreview(sel: DeviceSelection): Promise<Preview> {
    this.warmUp();
    this.selection = { ...this.selection, ...sel };
    const warnings: string[] = [];
    const md = this.win.navigator.mediaDevices;
    if (!md?.getUserMedia) {
      warnings.push("This page cannot use the camera or microphone (it needs HTTPS).");
      return this.previewResult(warnings);
    }
    const cam = this.slots.video;
    const mic = this.slots.audio;
    const wantCam = !cam.track || (sel.videoinput !== undefined && cam.track.getSettings().deviceId !== sel.videoinput);
    const wantMic = !mic.track || (sel.audioinput !== undefined && mic.track.getSettings().deviceId !== sel.audioinput);
    if (wantCam) this.stopSlot(cam);
    if (wantMic) this.stopSlot(mic);
    if (wantCam && wantMic) {
      try {
        const s = await md.getUserMedia({
          video: cameraConstraints(this.selection.videoinput),
          audio: micConstraints(this.selection.audioinput),
        });
        cam.track = s.getVideoTracks()[0] ?? null;
        mic.track = s.getAudioTracks()[0] ?? null;
      } catch {
        // Fall through: try each alone to learn which one failed.
      }
    }
    if (wantCam && !cam.track) {
      try {
        cam.track = (await md.getUserMedia({ video: cameraConstraints(this.selection.videoinput) })).getVideoTracks()[0] ?? null;
      } catch (e) {
        warnings.push(describeMediaError("camera", e));
      }
    }
    if (wantMic && !mic.track) {
      try {
        mic.track = (await md.getUserMedia({ audio: micConstraints(this.selection.audioinput) })).getAudioTracks()[0] ?? null;
      } catch (e) {
        warnings.push(describeMediaError("microphone", e));
      }
    }
    if (cam.track) cam.track.enabled = !this.muted.video;
    if (mic.track) mic.track.enabled = !this.muted.audio;
    this.meter.attach(mic.track);
    return this.previewResult(warnings);
  }

  private previewResult(warnings: string[]): Preview {
    const cam = this.slots.video.track;
    return {
      video: cam ? { type: "stream", stream: new MediaStream([cam]) } : null,
      hasAudio: this.slots.audio.track !== null,
      level: () => {
        this.meter.resume();
        return this.slots.audio.track?.enabled ? this.meter.level() : 0;
      },
      warnings,
    };
  }

  closePreview(): void {
    if (this.session) return;
    this.stopSlot(this.slots.video);
    this.stopSlot(this.slots.audio);
    this.meter.attach(null);
  }

  private stopSlot(slot: LocalSlot): void {
    slot.track?.stop();
    slot.track = null;
  }

  // ---- joining, leaving, reconnecting -------------------------------------

  async join(opts: JoinOptions): Promise<JoinResult> {
    this.joinOpts = opts;
    this.muted.audio = opts.micOff ?? this.muted.audio;
    this.muted.video = opts.cameraOff ?? this.muted.video;
    if (!this.slots.audio.track && !this.slots.video.track) {
      const p = await this.openPreview({});
      for (const w of p.warnings) this.fail("media", w);
    }
    if (this.slots.audio.track) this.slots.audio.track.enabled = !this.muted.audio;
    if (this.slots.video.track) this.slots.video.track.enabled = !this.muted.video;
    this.wantConnected = true;
    this.reconnector.stop();
    this.setState("connecting");
    try {
      return await this.connectFresh();
    } catch (e) {
      this.wantConnected = false;
      this.setState("closed");
      throw e;
    }
  }

  private setState(state: ConnectionState, extra: { attempt?: number; retryInMs?: number } = {}): void {
    this.emit({ type: "connection", state, ...extra });
  }

  // Opens a signaling socket and says hello: a new session, or with resume
  // the session of that token. Messages that arrive before the caller makes
  // the socket its session's are queued in `early`, to be handled in order.
  private async dialHello(opts: JoinOptions, resume?: string): Promise<Dialled> {
    const early: ServerMessage[] = [];
    const ws: SignalingSocket = new SignalingSocket(signalingURL(this.win.location), {
      message: (m) => {
        const s = this.session;
        if (s && s.ws === ws && !s.closed) this.onMessage(s, m);
        else early.push(m);
      },
      closed: () => {
        const s = this.session;
        if (s && s.ws === ws) this.onSocketClosed(s);
      },
    });
    await ws.open(resume ? resumeOpenTimeoutMs : undefined);
    this.joining = ws;
    let reply: ServerMessage;
    try {
      reply = await ws.request(
        {
          type: "hello",
          version: protocolVersion,
          room: opts.room,
          name: opts.name,
          // A resume carries only the token (PROTOCOL.md §3).
          ...(resume
            ? { resume }
            : {
                device: this.device,
                ...(opts.password ? { password: opts.password } : {}),
                ...(opts.token ? { token: opts.token } : {}),
              }),
        },
        15000,
        resume ? undefined : () => this.emit({ type: "waiting" }),
      );
    } catch (e) {
      ws.close();
      // The host ended the meeting, or its server stopped, while we
      // waited in its lobby: the server says so before it closes.
      const ended = early.find((m) => m.type === "ended");
      if (ended?.type === "ended") throw new EngineError("ended", `the meeting ended: ${ended.reason}`, ended.reason);
      throw asEngineError(e);
    } finally {
      if (this.joining === ws) this.joining = null;
    }
    if (reply.type !== "welcome") {
      ws.close();
      throw new EngineError("bad-request", `expected welcome, got ${reply.type}`);
    }
    if (!this.wantConnected) {
      ws.close();
      throw new EngineError("connection-lost", "left while joining");
    }
    return { ws, welcome: reply, early };
  }

  // Joins as a new participant: new session, new PeerConnections.
  private async connectFresh(): Promise<JoinResult> {
    const opts = this.joinOpts;
    if (!opts) throw new EngineError("internal", "join first");
    const { ws, welcome, early } = await this.dialHello(opts);
    const s: Session = {
      ws,
      selfId: welcome.participantId,
      resumeToken: welcome.resumeToken ?? "",
      iceServers: toRTCIceServers(welcome.iceServers),
      pub: null,
      sub: null,
      pubChain: Promise.resolve(),
      subChain: Promise.resolve(),
      pubOfferSent: false,
      republish: false,
      localPubCandidates: [],
      remoteCandidates: { publish: [], subscribe: [] },
      bindings: new Map(),
      audio: new Map(),
      quality: new Map(),
      lastStats: new Map(),
      lastRestart: { publish: 0, subscribe: 0 },
      statsTimer: 0,
      iceTimer: 0,
      closed: false,
    };
    this.session = s;
    ws.startHeartbeat();
    this.emitWelcome(s, welcome, false);
    this.setState("connected");
    for (const m of early) this.onMessage(s, m);
    this.startPublishing(s);
    s.statsTimer = this.win.setInterval(() => void this.pollStats(s), 2000);
    s.iceTimer = this.win.setInterval(() => this.watchIce(s), iceCheckMs);
    return { selfId: s.selfId };
  }

  private emitWelcome(s: Session, w: Welcome, resumed: boolean): void {
    this.emit({
      type: "welcome",
      selfId: s.selfId,
      room: w.room,
      participants: w.participants ?? [],
      tracks: w.tracks ?? [],
      chat: w.chat ?? [],
      knocks: w.knocks ?? [],
      resumed,
    });
  }

  leave(): void {
    this.wantConnected = false;
    this.reconnector.stop();
    if (this.joining) {
      // Waiting in the lobby: withdraw the knock.
      this.joining.send({ type: "leave" });
      this.joining.close();
      this.joining = null;
    }
    const s = this.session;
    if (s) {
      s.ws.send({ type: "leave" });
      this.teardown(s);
    }
    this.session = null;
    this.releaseLocal();
    this.setState("closed");
  }

  private releaseLocal(): void {
    for (const slot of Object.values(this.slots)) {
      this.stopSlot(slot);
      slot.transceiver = null;
      slot.announcedId = null;
    }
    this.meter.attach(null);
  }

  reconnectNow(): void {
    this.reconnector.now();
  }

  // The signaling socket dropped without `ended`. A session with a resume
  // token keeps its PeerConnections (media may well still flow) and is
  // resumed on a new socket; without one it starts over.
  private onSocketClosed(s: Session): void {
    if (s !== this.session || s.closed) return;
    if (!this.wantConnected) {
      this.teardown(s);
      this.session = null;
      this.setState("closed");
      return;
    }
    if (!s.resumeToken) {
      this.teardown(s);
      this.session = null;
    }
    this.log("signaling lost; reconnecting", s.resumeToken ? "(resume)" : "(new session)");
    this.reconnector.start();
  }

  private async attemptReconnect(): Promise<AttemptResult> {
    if (!this.wantConnected || !this.joinOpts) return "fatal";
    const s = this.session;
    if (s && !s.closed && s.resumeToken) {
      try {
        const d = await this.dialHello(this.joinOpts, s.resumeToken);
        if (!this.reconnector.active || this.session !== s || s.closed) {
          d.ws.close();
          return "retry";
        }
        if (!d.welcome.resumed || d.welcome.participantId !== s.selfId) {
          d.ws.close();
          throw new EngineError("not-found", "the server started a new session instead");
        }
        this.onResumed(s, d);
        return "done";
      } catch (e) {
        const err = asEngineError(e);
        if (err.code !== "not-found") return this.retryOrStop(err);
        // The server let our session go (it waited too long, or it
        // restarted): join again as a new participant.
        this.log("resume refused; joining again", err.message);
        this.teardown(s);
        if (this.session === s) this.session = null;
      }
    }
    try {
      await this.connectFresh();
      return "done";
    } catch (e) {
      return this.retryOrStop(asEngineError(e));
    }
  }

  private retryOrStop(err: EngineError): AttemptResult {
    if (!fatalJoinCodes.has(err.code)) return "retry";
    this.stopForGood();
    this.fail(err.code, err.message, true);
    return "fatal";
  }

  // Reconnecting failed for good: the UI shows a "Connection lost" screen
  // whose Retry joins again from scratch.
  private giveUp(): void {
    this.log("reconnecting: giving up");
    this.stopForGood();
    this.fail("connection-lost", "The connection to the meeting was lost and could not be restored.", true);
  }

  private stopForGood(): void {
    this.wantConnected = false;
    this.joining?.close();
    this.joining = null;
    const s = this.session;
    if (s) this.teardown(s);
    this.session = null;
    this.releaseLocal();
    this.setState("closed");
  }

  // The same session on a new socket: the room as it is now replaces what
  // we knew (the UI merges chat by seq); what the server missed from us
  // while we were away (track announcements, mute flags, a publish offer)
  // is sent again.
  private onResumed(s: Session, d: Dialled): void {
    const w = d.welcome;
    s.ws = d.ws;
    s.ws.startHeartbeat();
    if (w.resumeToken) s.resumeToken = w.resumeToken;
    s.iceServers = toRTCIceServers(w.iceServers);
    for (const pc of [s.pub, s.sub]) {
      try {
        // Fresh TURN credentials for later ICE restarts.
        pc?.setConfiguration({ ...pc.getConfiguration(), iceServers: s.iceServers });
      } catch (e) {
        this.log("keeping the old ICE servers", String(e));
      }
    }
    this.emitWelcome(s, w, true);
    this.setState("connected");
    for (const m of d.early) this.onMessage(s, m);
    const ours = new Map((w.tracks ?? []).filter((t) => t.participantId === s.selfId).map((t) => [t.id, t]));
    let renegotiate = s.republish || s.pub?.signalingState === "have-local-offer";
    s.republish = false;
    const kept = new Set<string>();
    for (const slot of Object.values(this.slots)) {
      if (!slot.transceiver || !slot.track) continue;
      const t = slot.announcedId ? ours.get(slot.announcedId) : undefined;
      if (!t) {
        slot.announcedId = null;
        renegotiate = true;
        continue;
      }
      kept.add(t.id);
      const muted = slot.kind === "screen" ? false : this.muted[slot.kind];
      if (t.muted !== muted) s.ws.send({ type: "mute", trackId: t.id, muted });
    }
    for (const id of ours.keys()) if (!kept.has(id)) s.ws.send({ type: "unpublish", trackId: id });
    if (renegotiate) this.negotiate(s);
  }

  // ICE restarts (PROTOCOL.md §3): while a PeerConnection's ICE is
  // disconnected or failed and signaling is up, the publish PC re-offers
  // with new credentials and the subscribe PC asks the server to, every
  // few seconds until it recovers.
  private watchIce(s: Session): void {
    if (s.closed || !s.ws.open_) return;
    const now = performance.now();
    const lost = (pc: RTCPeerConnection | null) => pc !== null && (pc.iceConnectionState === "disconnected" || pc.iceConnectionState === "failed");
    if (lost(s.pub) && s.pubOfferSent && now - s.lastRestart.publish >= iceRestartEveryMs) {
      s.lastRestart.publish = now;
      this.log("publish ICE lost; restarting");
      this.negotiate(s, true);
    }
    if (lost(s.sub) && now - s.lastRestart.subscribe >= iceRestartEveryMs) {
      s.lastRestart.subscribe = now;
      this.log("subscribe ICE lost; asking for a restart");
      s.ws.send({ type: "restart", pc: "subscribe" });
    }
  }

  // Closes the socket and both PCs and forgets remote media. Local tracks
  // stay (a new session republishes them).
  private teardown(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    this.win.clearInterval(s.statsTimer);
    this.win.clearInterval(s.iceTimer);
    s.ws.close();
    s.pub?.close();
    s.sub?.close();
    for (const b of s.bindings.values()) this.detach(s, b);
    s.bindings.clear();
    for (const slot of Object.values(this.slots)) {
      slot.transceiver = null;
      slot.announcedId = null;
    }
  }

  // ---- messages -----------------------------------------------------------

  private onMessage(s: Session, m: ServerMessage): void {
    if (s.closed) return;
    if (this.debug && m.type !== "speaking") this.log("recv", m.type, "pc" in m ? m.pc : "", m.type === "candidate" ? JSON.stringify(m.candidate) : "");
    switch (m.type) {
      case "welcome":
      case "waiting":
        return; // answers to a hello, handled by dialHello
      case "offer":
        if (m.pc === "subscribe") this.onSubscribeOffer(s, m.sdp, m.id);
        return;
      case "answer":
        return; // matched to its offer by id (SignalingSocket.request)
      case "candidate":
        this.onRemoteCandidate(s, m.pc, m.candidate);
        return;
      case "error":
        this.fail(normalizeErrorCode(m.code), m.message);
        return;
      case "mute":
        if (m.by && m.by !== s.selfId && m.participantId === s.selfId && m.muted) this.mutedByHost(m.trackId);
        break;
      case "ended":
        // Never reconnect after ended (PROTOCOL.md §7 ended).
        this.wantConnected = false;
        this.reconnector.stop();
        this.emit({ type: "ended", reason: m.reason });
        this.teardown(s);
        this.session = null;
        for (const slot of Object.values(this.slots)) this.stopSlot(slot);
        this.setState("closed");
        return;
    }
    const ev = roomEvent(m);
    if (ev) this.emit(ev);
  }

  private newPC(s: Session, name: PCName): RTCPeerConnection {
    const pc = new RTCPeerConnection({ iceServers: s.iceServers, bundlePolicy: "max-bundle" });
    pc.onicecandidate = (ev) => {
      const c: IceCandidate | null = ev.candidate ? (ev.candidate.toJSON() as IceCandidate) : null;
      this.log(name, "local candidate", c?.candidate ?? null);
      if (name === "publish" && !s.pubOfferSent) {
        s.localPubCandidates.push(c);
        return;
      }
      s.ws.send({ type: "candidate", pc: name, candidate: c });
    };
    pc.oniceconnectionstatechange = () => {
      this.log(name, "ice", pc.iceConnectionState);
      this.watchIce(s);
    };
    if (this.debug) pc.onicegatheringstatechange = () => this.log(name, "gathering", pc.iceGatheringState);
    return pc;
  }

  private onRemoteCandidate(s: Session, name: PCName, c: IceCandidate | null): void {
    const pc = name === "publish" ? s.pub : s.sub;
    if (!pc || !pc.remoteDescription) {
      s.remoteCandidates[name].push(c);
      return;
    }
    addCandidate(pc, c);
  }

  private flushRemoteCandidates(s: Session, name: PCName): void {
    const pc = name === "publish" ? s.pub : s.sub;
    if (!pc) return;
    for (const c of s.remoteCandidates[name].splice(0)) addCandidate(pc, c);
  }

  // ---- publishing ---------------------------------------------------------

  private startPublishing(s: Session): void {
    s.pub = this.newPC(s, "publish");
    let any = false;
    for (const slot of [this.slots.audio, this.slots.video, this.slots.screen]) {
      if (!slot.track || slot.track.readyState === "ended") continue;
      this.addSender(s, slot);
      any = true;
    }
    if (any) this.negotiate(s);
  }

  private addSender(s: Session, slot: LocalSlot): void {
    if (!s.pub || !slot.track) return;
    const stream = new MediaStream([slot.track]);
    slot.transceiver = s.pub.addTransceiver(slot.track, { direction: "sendonly", streams: [stream] });
    slot.announcedId = null;
  }

  private negotiate(s: Session, iceRestart = false): void {
    s.pubChain = s.pubChain
      .then(() => this.negotiateOnce(s, iceRestart))
      .catch((e: unknown) => {
        if (s.closed) return;
        const err = e instanceof EngineError ? e : new EngineError("internal", `publishing failed: ${String(e)}`);
        if (err.code === "connection-lost") {
          // The socket dropped mid-offer; the resume sends it again.
          s.republish = true;
          return;
        }
        this.fail(err.code, err.message);
      });
  }

  private async negotiateOnce(s: Session, iceRestart: boolean): Promise<void> {
    const pc = s.pub;
    if (s.closed || !pc) return;
    const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : {});
    await pc.setLocalDescription(offer);
    const sdp = pc.localDescription?.sdp ?? offer.sdp ?? "";
    const sections = parseSections(sdp);
    // Announce new tracks before the offer (PROTOCOL.md §5 "Publishing").
    const announcements: Promise<unknown>[] = [];
    for (const slot of [this.slots.audio, this.slots.video, this.slots.screen]) {
      if (!slot.transceiver || slot.announcedId || !slot.track) continue;
      const mid = slot.transceiver.mid;
      const id = sections.find((x) => x.mid === mid)?.trackId ?? slot.track.id;
      slot.announcedId = id;
      const muted = slot.kind === "screen" ? false : this.muted[slot.kind];
      announcements.push(
        s.ws.request({ type: "publish", track: { id, kind: slot.kind, muted } }).catch((e: unknown) => {
          // After a dropped socket the resumed welcome tells whether the
          // server got it.
          const lost = e instanceof EngineError && e.code === "connection-lost";
          if (slot.announcedId === id && !lost) slot.announcedId = null;
          throw e;
        }),
      );
      this.emitLocalMedia(s, slot);
    }
    const reply = s.ws.request({ type: "offer", pc: "publish", sdp });
    reply.catch(() => undefined); // awaited below; keep it from counting as unhandled
    s.pubOfferSent = true;
    for (const c of s.localPubCandidates.splice(0)) s.ws.send({ type: "candidate", pc: "publish", candidate: c });
    const results = await Promise.allSettled(announcements);
    const answer = await reply;
    if (s.closed) return;
    if (answer.type !== "answer") throw new EngineError("internal", `expected answer, got ${answer.type}`);
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    this.flushRemoteCandidates(s, "publish");
    for (const r of results) {
      if (r.status === "rejected") {
        const err = r.reason instanceof EngineError ? r.reason : new EngineError("internal", String(r.reason));
        this.fail(err.code, `A track could not be published: ${err.message}`);
      }
    }
  }

  private emitLocalMedia(s: Session, slot: LocalSlot): void {
    if (slot.kind === "audio" || !slot.announcedId) return;
    this.emit({
      type: "media",
      participantId: s.selfId,
      trackId: slot.announcedId,
      kind: "video",
      source: slot.track ? { type: "stream", stream: new MediaStream([slot.track]) } : null,
    });
  }

  // ---- subscribing --------------------------------------------------------

  private onSubscribeOffer(s: Session, sdp: string, id?: number): void {
    s.subChain = s.subChain
      .then(async () => {
        if (s.closed) return;
        s.sub ??= this.newPC(s, "subscribe");
        const pc = s.sub;
        await pc.setRemoteDescription({ type: "offer", sdp });
        this.flushRemoteCandidates(s, "subscribe");
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        if (s.closed) return;
        s.ws.send({ type: "answer", ...(id ? { id } : {}), pc: "subscribe", sdp: pc.localDescription?.sdp ?? answer.sdp ?? "" });
        this.reconcile(s, sdp);
      })
      .catch((e: unknown) => {
        if (!s.closed) this.fail("internal", `receiving media failed: ${String(e)}`);
      });
  }

  private reconcile(s: Session, sdp: string): void {
    const pc = s.sub;
    if (!pc) return;
    const { next, added, removed } = diffBindings(s.bindings, sdp);
    s.bindings = next;
    for (const b of removed) this.detach(s, b);
    for (const b of added) {
      const t = pc.getTransceivers().find((x) => x.mid === b.mid);
      if (t) this.attach(s, b, t.receiver.track);
    }
  }

  private attach(s: Session, b: Binding, track: MediaStreamTrack): void {
    const key = bindingKey(b);
    this.log("attach", b.mid, b.participantId, b.trackId, track.kind, track.muted ? "muted" : "unmuted");
    if (track.kind === "audio") {
      let el = s.audio.get(key);
      if (!el) {
        el = this.win.document.createElement("audio");
        el.autoplay = true;
        el.dataset.participant = b.participantId;
        el.hidden = true;
        this.win.document.body.append(el);
        s.audio.set(key, el);
      }
      el.srcObject = new MediaStream([track]);
      this.applySink(el);
      this.play(el);
      return;
    }
    // Its tile says whether it is on the stage; the host stops sending
    // what stays off it for a while (and resumes from a keyframe). A tile
    // drawn small takes only the frames others refer to.
    let paused = false;
    let half = false;
    let timer = 0;
    const send = (p: boolean): void => {
      paused = p;
      if (s.closed) return;
      const referenceOnly = half && !p ? { referenceOnly: true } : {};
      s.ws.send({ type: "pause", participantId: b.participantId, trackId: b.trackId, paused: p, ...referenceOnly });
    };
    const setWanted = (wanted: boolean): void => {
      this.win.clearTimeout(timer);
      timer = 0;
      if (wanted) {
        if (paused) send(false);
      } else if (!paused) {
        timer = this.win.setTimeout(() => send(true), pauseDelayMs);
      }
    };
    const setHalfRate = (h: boolean): void => {
      if (h === half) return;
      half = h;
      if (!paused) send(false);
    };
    this.emit({
      type: "media",
      participantId: b.participantId,
      trackId: b.trackId,
      kind: "video",
      source: { type: "stream", stream: new MediaStream([track]), setWanted, setHalfRate },
    });
  }

  private detach(s: Session, b: Binding): void {
    const key = bindingKey(b);
    const el = s.audio.get(key);
    if (el) {
      el.srcObject = null;
      el.remove();
      s.audio.delete(key);
      return;
    }
    if (b.media !== "audio") {
      this.emit({ type: "media", participantId: b.participantId, trackId: b.trackId, kind: "video", source: null });
    }
  }

  private play(el: HTMLAudioElement): void {
    el.play().catch(() => {
      if (this.audioBlocked) return;
      this.audioBlocked = true;
      this.fail("media", "The browser blocked sound: click anywhere on the page to hear the others.");
      const resume = () => {
        this.audioBlocked = false;
        for (const a of this.session?.audio.values() ?? []) void a.play().catch(() => undefined);
      };
      this.win.document.addEventListener("pointerdown", resume, { once: true });
      this.win.document.addEventListener("keydown", resume, { once: true });
    });
  }

  private applySink(el: HTMLAudioElement): void {
    const id = this.selection.audiooutput;
    const withSink = el as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
    if (id && typeof withSink.setSinkId === "function") {
      withSink.setSinkId(id).catch((e: unknown) => this.fail("media", `The speaker could not be selected: ${String(e)}`));
    }
  }

  // ---- statistics -----------------------------------------------------------

  private async pollStats(s: Session): Promise<void> {
    const pc = s.sub;
    if (s.closed || !pc) return;
    let report: RTCStatsReport;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    const perParticipant = new Map<string, { lostDelta: number; recvDelta: number; fps: number }>();
    report.forEach((st: RTCStats & Record<string, unknown>) => {
      if (st.type !== "inbound-rtp" || st.kind !== "video") return;
      const mid = typeof st.mid === "string" ? st.mid : undefined;
      const b = mid !== undefined ? s.bindings.get(mid) : undefined;
      if (!b) return;
      const lost = Number(st.packetsLost ?? 0);
      const received = Number(st.packetsReceived ?? 0);
      const prev = s.lastStats.get(st.id) ?? { lost: 0, received: 0 };
      s.lastStats.set(st.id, { lost, received });
      const agg = perParticipant.get(b.participantId) ?? { lostDelta: 0, recvDelta: 0, fps: 0 };
      agg.lostDelta += Math.max(0, lost - prev.lost);
      agg.recvDelta += Math.max(0, received - prev.received);
      agg.fps = Math.max(agg.fps, Number(st.framesPerSecond ?? 0));
      perParticipant.set(b.participantId, agg);
    });
    for (const [pid, a] of perParticipant) {
      const q = rateQuality(a.lostDelta, a.recvDelta, a.fps);
      if (s.quality.get(pid) !== q) {
        s.quality.set(pid, q);
        this.emit({ type: "quality", participantId: pid, quality: q });
      }
    }
  }

  getStats(): Promise<TileStats[]> {
    const s = this.session;
    return s && !s.closed ? browserStats(s.sub, (mid) => s.bindings.get(mid), this.rates) : Promise.resolve([]);
  }

  // ---- in-call controls -----------------------------------------------------

  // Muted, or nothing captured (no device, or permission refused).
  isMuted(kind: MuteKind): boolean {
    return this.muted[kind] || !this.slots[kind].track;
  }

  async setMuted(kind: MuteKind, muted: boolean): Promise<void> {
    this.muted[kind] = muted;
    const slot = this.slots[kind];
    const s = this.session;
    if (!muted && !slot.track) {
      // Nothing captured yet (no device or blocked before): try now.
      await this.acquire(kind);
      if (s && !s.closed && slot.track) {
        this.addSender(s, slot);
        this.negotiate(s);
      }
      return;
    }
    if (slot.track) slot.track.enabled = !muted;
    if (s && !s.closed && slot.announcedId) {
      s.ws.send({ type: "mute", trackId: slot.announcedId, muted });
      this.emit({ type: "mute", participantId: s.selfId, trackId: slot.announcedId, muted });
    }
  }

  // A host muted one of our tracks: stop sending it, as our own mute would
  // (PROTOCOL.md §6 moderator mute). The user may unmute again.
  private mutedByHost(trackId: string): void {
    const slot = Object.values(this.slots).find((x) => x.announcedId === trackId);
    if (!slot) return;
    if (slot.kind !== "screen") this.muted[slot.kind] = true;
    if (slot.track) slot.track.enabled = false;
  }

  private async acquire(kind: MuteKind): Promise<MediaStreamTrack> {
    const md = this.win.navigator.mediaDevices;
    const what = kind === "video" ? "camera" : "microphone";
    let track: MediaStreamTrack | undefined;
    try {
      const stream = await md.getUserMedia(
        kind === "video"
          ? { video: cameraConstraints(this.selection.videoinput) }
          : { audio: micConstraints(this.selection.audioinput) },
      );
      track = kind === "video" ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
    } catch (e) {
      this.muted[kind] = true;
      throw new EngineError("media", describeMediaError(what, e));
    }
    if (!track) throw new EngineError("media", `No ${what} found.`);
    track.enabled = !this.muted[kind];
    const slot = this.slots[kind];
    slot.track = track;
    if (kind === "audio") this.meter.attach(track);
    return track;
  }

  async selectDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    this.selection = { ...this.selection, [kind]: deviceId };
    if (kind === "audiooutput") {
      for (const el of this.session?.audio.values() ?? []) this.applySink(el);
      return;
    }
    const mk: MuteKind = kind === "videoinput" ? "video" : "audio";
    const slot = this.slots[mk];
    if (slot.track?.getSettings().deviceId === deviceId) return;
    const old = slot.track;
    // Some cameras cannot be opened twice: release the old one first.
    old?.stop();
    slot.track = null;
    const track = await this.acquire(mk);
    const s = this.session;
    if (s && !s.closed) {
      if (slot.transceiver) {
        // Same sender, new source: no renegotiation (issue 5).
        await slot.transceiver.sender.replaceTrack(track);
        this.emitLocalMedia(s, slot);
      } else {
        this.addSender(s, slot);
        this.negotiate(s);
      }
    }
  }

  isSharingScreen(): boolean {
    return this.slots.screen.track !== null;
  }

  async startScreenShare(): Promise<void> {
    const s = this.session;
    if (!s || s.closed) throw new EngineError("connection-lost", "join a meeting first");
    if (this.slots.screen.track) return;
    const md = this.win.navigator.mediaDevices;
    if (typeof md?.getDisplayMedia !== "function") throw new EngineError("unsupported", "This browser cannot share the screen.");
    let stream: MediaStream;
    try {
      stream = await md.getDisplayMedia({ video: { ...screenConstraints }, audio: false });
    } catch (e) {
      const name = e instanceof DOMException ? e.name : "";
      if (name === "NotAllowedError" || name === "AbortError") throw new EngineError("media", "Screen sharing was cancelled.");
      throw new EngineError("media", `Screen sharing failed: ${String(e)}`);
    }
    const track = stream.getVideoTracks()[0];
    if (!track) throw new EngineError("media", "The shared screen has no video.");
    try {
      track.contentHint = "detail";
      await track.applyConstraints({ ...screenConstraints });
    } catch {
      // Constraints are a cap, not a requirement.
    }
    const slot = this.slots.screen;
    slot.track = track;
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener("ended", () => {
      if (this.slots.screen.track === track) {
        void this.stopScreenShare();
        this.emit({ type: "screen-ended" });
      }
    });
    if (this.session === s && !s.closed) {
      this.addSender(s, slot);
      this.negotiate(s);
    }
  }

  async stopScreenShare(): Promise<void> {
    const slot = this.slots.screen;
    const track = slot.track;
    if (!track) return;
    slot.track = null;
    track.stop();
    const s = this.session;
    if (s && !s.closed) {
      if (slot.announcedId) {
        s.ws.send({ type: "unpublish", trackId: slot.announcedId });
        this.emit({ type: "media", participantId: s.selfId, trackId: slot.announcedId, kind: "video", source: null });
      }
      if (slot.transceiver && s.pub) {
        try {
          s.pub.removeTrack(slot.transceiver.sender);
        } catch {
          // Already gone with the PC.
        }
        this.negotiate(s);
      }
    }
    slot.transceiver = null;
    slot.announcedId = null;
  }

  private connected(): Session {
    const s = this.session;
    if (!s || s.closed) throw new EngineError("connection-lost", "not connected");
    return s;
  }

  async setLocked(locked: boolean): Promise<void> {
    await this.connected().ws.request({ type: "lock", locked });
  }

  async removeParticipant(participantId: string): Promise<void> {
    await this.connected().ws.request({ type: "remove", participantId });
  }

  async admit(knockId: string): Promise<void> {
    await this.connected().ws.request({ type: "admit", knockId });
  }

  async deny(knockId: string): Promise<void> {
    await this.connected().ws.request({ type: "deny", knockId });
  }

  async muteParticipant(participantId: string, trackId: string): Promise<void> {
    await this.connected().ws.request({ type: "mute", participantId, trackId, muted: true });
  }

  async endMeeting(): Promise<void> {
    // The reply is the `ended` event (host-ended), handled in onMessage.
    await this.connected().ws.request({ type: "end" });
  }

  async sendChat(text: string): Promise<ChatMessage> {
    const s = this.session;
    if (!s || s.closed) throw new EngineError("connection-lost", "not connected");
    const reply = await s.ws.request({ type: "chat", text: text.replace(/\r\n?/g, "\n") });
    if (reply.type !== "chat") throw new EngineError("internal", `expected chat, got ${reply.type}`);
    return { seq: reply.seq, from: reply.from, name: reply.name, text: reply.text, ts: reply.ts };
  }
}

function asEngineError(e: unknown): EngineError {
  return e instanceof EngineError ? e : new EngineError("internal", String(e));
}

function toRTCIceServers(servers: IceServer[] | undefined): RTCIceServer[] {
  return (servers ?? []).map((s) => ({
    urls: s.urls,
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.credential !== undefined ? { credential: s.credential } : {}),
  }));
}

function addCandidate(pc: RTCPeerConnection, c: IceCandidate | null): void {
  if (c === null) return; // end of candidates: nothing to do in browsers
  pc.addIceCandidate({
    candidate: c.candidate,
    sdpMid: c.sdpMid ?? null,
    sdpMLineIndex: c.sdpMLineIndex ?? null,
    ...(c.usernameFragment ? { usernameFragment: c.usernameFragment } : {}),
  }).catch(() => {
    // A late candidate for a closed PC or an end-of-generation marker the
    // browser does not take: harmless.
  });
}

// Receive quality from one stats interval: packet loss share and frame rate.
export function rateQuality(lostDelta: number, receivedDelta: number, fps: number): Quality {
  const total = lostDelta + receivedDelta;
  if (total === 0) return "unknown";
  const loss = lostDelta / total;
  if (loss < 0.02 && fps >= 10) return "good";
  if (loss < 0.08 && fps >= 5) return "fair";
  return "poor";
}
