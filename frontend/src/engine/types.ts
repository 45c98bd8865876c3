// The engine is everything below the UI: signaling, media capture, WebRTC
// (in a browser) or the Go media stack (in the desktop window). The UI only
// talks to this interface, so the same views run in both worlds.

import type {
  ChatMessage,
  ConnectionStateName,
  EndReason,
  ErrorCode,
  Knock,
  KnockOutcome,
  LeaveReason,
  Participant,
  RoomInfo,
  Track,
  TrackKind,
} from "../protocol";

// A source of video pixels for one tile. A browser engine hands out
// MediaStreams (played by a <video>); the desktop engine decodes VP8 with
// WebCodecs and hands out VideoFrames, which a tile draws on a <canvas>.
// A stream's setWanted, when there, tells the engine whether its tile is
// on the stage, so that the host stops sending what nobody sees; its
// setHalfRate whether the tile is drawn small, so that the host sends only
// the frames others refer to (half of a desktop camera's).
export type VideoSource =
  | {
      type: "stream";
      stream: MediaStream;
      setWanted?: (wanted: boolean) => void;
      setHalfRate?: (half: boolean) => void;
    }
  | { type: "frames"; feed: FrameFeed };

export interface FrameFeed {
  // Calls onFrame for every decoded frame until the returned function is
  // called. The callee owns each frame and must close() it.
  subscribe(onFrame: (frame: VideoFrame) => void): () => void;
  // While every subscriber draws it small, the feed may leave out the
  // frames no other frame refers to (half of a desktop camera's): half
  // the decoding, and no keyframe needed to switch back.
  setHalfRate?(onFrame: (frame: VideoFrame) => void, half: boolean): void;
}

// Errors surfaced to the UI: the protocol's codes plus client-side ones.
// "bad-link": the invite link itself is malformed (the desktop window,
// given one on the command line). "identity": the host's certificate is
// not the one the link pins; "untrusted": it could not be checked (a link
// without its #fp= part). Browsers check certificates themselves.
// "ended": the meeting ended (endReason says how) before we were let in.
export type EngineErrorCode = ErrorCode | "connection-lost" | "media" | "unsupported" | "bad-link" | "identity" | "untrusted" | "ended";

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly endReason?: EndReason,
  ) {
    super(message);
    this.name = "EngineError";
  }
}

export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "closed";

export type DeviceKind = "audioinput" | "videoinput" | "audiooutput";

export interface Device {
  kind: DeviceKind;
  deviceId: string;
  label: string;
  // The device in use, where the engine knows it (the desktop app).
  selected?: boolean;
}

export interface DeviceSelection {
  audioinput?: string;
  videoinput?: string;
  audiooutput?: string;
}

// What the lobby shows before joining.
export interface Preview {
  video: VideoSource | null;
  hasAudio: boolean;
  // Microphone level 0..1 (peak of the last few milliseconds).
  level(): number;
  // Which problems came up while opening devices ("camera blocked", …).
  warnings: string[];
}

export interface JoinOptions {
  room: string;
  name: string;
  password?: string;
  // Invite token from the link's fragment (t=): stands in for the
  // password and the lobby.
  token?: string;
  // Start with the microphone / camera off (tracks are published muted).
  // Left out: as the last meeting left them, so that rejoining never
  // turns on what the user had turned off (on before the first meeting).
  micOff?: boolean;
  cameraOff?: boolean;
}

export interface JoinResult {
  selfId: string;
}

// Local media kinds the user can mute.
export type MuteKind = "audio" | "video";

export type LocalKind = TrackKind;

// Events from the engine. Room events mirror the protocol one to one, so the
// meeting reducer (meeting/state.ts) is a pure function of them.
export type EngineEvent =
  | { type: "connection"; state: ConnectionState; attempt?: number; retryInMs?: number }
  | {
      type: "welcome";
      selfId: string;
      room: RoomInfo;
      participants: Participant[];
      tracks: Track[];
      chat: ChatMessage[];
      // Joiners waiting in the lobby (hosts only).
      knocks: Knock[];
      // The same session again after a dropped connection: the room as it
      // is now, chat history to merge by seq, media kept.
      resumed: boolean;
    }
  // The room has a lobby: join() resolves only once a host admits us.
  | { type: "waiting" }
  | { type: "participant-joined"; participant: Participant }
  | { type: "participant-left"; participantId: string; reason: LeaveReason }
  | { type: "participant-updated"; participant: Participant }
  | { type: "track-published"; track: Track }
  | { type: "track-unpublished"; participantId: string; trackId: string }
  // by: the host who muted someone else's track.
  | { type: "mute"; participantId: string; trackId: string; muted: boolean; by?: string }
  | { type: "participant-state"; participantId: string; state: ConnectionStateName }
  | { type: "knock"; knock: Knock }
  | { type: "knock-ended"; knockId: string; outcome: KnockOutcome }
  | { type: "speaking"; participantId: string; speaking: boolean; level: number }
  | { type: "chat"; message: ChatMessage }
  | { type: "room"; room: RoomInfo }
  | { type: "ended"; reason: EndReason }
  | { type: "error"; code: EngineErrorCode; message: string; fatal: boolean }
  // Media for a (participant, track) pair became available (source set) or
  // went away (source null). Audio never reaches the UI: the engine plays it.
  | { type: "media"; participantId: string; trackId: string; kind: "audio" | "video"; source: VideoSource | null }
  // The local screen share stopped (the user clicked the browser's own
  // "Stop sharing", or the capture ended).
  | { type: "screen-ended" }
  // Receive quality per participant, from transport statistics.
  | { type: "quality"; participantId: string; quality: Quality };

export type Quality = "good" | "fair" | "poor" | "unknown";

// Receive statistics of one remote video track (the stats overlay).
export interface TileStats {
  participantId: string;
  trackId: string;
  width: number;
  height: number;
  fps: number; // frames decoded per second
  kbps: number; // received bitrate
  lossPct: number | null; // packets lost, % of the last interval (null: none arrived)
  rttMs: number | null; // round-trip time to the server (null: unknown)
}

// A screen the desktop app can share.
export interface ScreenChoice {
  id: string;
  label: string;
}

export type EngineListener = (ev: EngineEvent) => void;

export interface Capabilities {
  speakerSelection: boolean;
  screenShare: boolean;
  // Hosts can admit and deny knocks and mute others from this engine.
  moderation: boolean;
}

export interface Engine {
  readonly platform: "browser" | "desktop";
  readonly capabilities: Capabilities;

  on(listener: EngineListener): () => void;

  // Devices and the lobby preview.
  listDevices(): Promise<Device[]>;
  openPreview(sel: DeviceSelection): Promise<Preview>;
  closePreview(): void;

  // Resolves on welcome; rejects with an EngineError (room-full,
  // bad-password, bad-token, token-expired, token-used, denied, not-found,
  // rate-limited, version, connection-lost, …). In a room with a lobby a
  // "waiting" event comes first and welcome only once a host admits us.
  join(opts: JoinOptions): Promise<JoinResult>;
  // Sends leave and tears everything down (also cancels a join that waits
  // in the lobby). Safe to call twice.
  leave(): void;
  // While reconnecting: try again now instead of waiting for backoff.
  reconnectNow(): void;

  setMuted(kind: MuteKind, muted: boolean): Promise<void>;
  isMuted(kind: MuteKind): boolean;
  // Switch camera or microphone mid-call without renegotiating, or choose
  // the speaker (where supported).
  selectDevice(kind: DeviceKind, deviceId: string): Promise<void>;
  // The user's bandwidth cap in kbit/s (0: none), for the video we send
  // and receive, where the engine can set one (the desktop app).
  maxBitrate?(): Promise<number>;
  setMaxBitrate?(kbps: number): Promise<void>;

  // The screens to pick from, where the app chooses (the desktop app);
  // browsers show their own picker. Rejects with the reason sharing is
  // impossible (Wayland without XWayland).
  listScreens?(): Promise<ScreenChoice[]>;
  startScreenShare(screenId?: string): Promise<void>;
  stopScreenShare(): Promise<void>;
  isSharingScreen(): boolean;

  // Receive statistics of the remote video tracks (the stats overlay).
  getStats(): Promise<TileStats[]>;

  // Resolves with the server's copy (with seq and ts).
  sendChat(text: string): Promise<ChatMessage>;

  // Host only (the server answers others with "denied").
  setLocked(locked: boolean): Promise<void>;
  removeParticipant(participantId: string): Promise<void>;
  endMeeting(): Promise<void>;

  // The link others join with, when this app hosts the meeting (the
  // participants panel offers it to copy); absent otherwise.
  readonly hostInvite?: string;
  // Its password, if it has one, to pass on with the link.
  readonly hostPassword?: string;

  // Opens a link from the chat outside the meeting's page, where a page
  // link cannot (the desktop window: the system's browser). Absent, the
  // link opens as a page's link does (a new tab).
  openLink?(url: string): void;
  // Host only, where capabilities.moderation: let a joiner in from the
  // lobby or turn them away; mute another participant's track (they may
  // unmute it themselves).
  admit(knockId: string): Promise<void>;
  deny(knockId: string): Promise<void>;
  muteParticipant(participantId: string, trackId: string): Promise<void>;
}
