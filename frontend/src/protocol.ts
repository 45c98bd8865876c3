// Wire types of the Parley signaling protocol, version 3. The source of truth
// is backend/signal/PROTOCOL.md (Go structs in backend/signal/messages.go);
// these mirror it field for field.

// Version 3 (ping, pong): a browser guest is always served by the build
// that serves its page, so it never meets a server that lacks it.
export const protocolVersion = 3;

export type Role = "host" | "guest";
export type TrackKind = "audio" | "video" | "screen";
export type PCName = "publish" | "subscribe";
export type LeaveReason = "left" | "gone" | "removed";
export type EndReason = "host-ended" | "removed" | "shutdown";
export type ConnectionStateName = "reconnecting" | "connected";
export type KnockOutcome = "admitted" | "denied" | "withdrawn";

export const errorCodes = [
  "bad-request",
  "version",
  "room-full",
  "bad-password",
  "bad-token",
  "token-expired",
  "token-used",
  "denied",
  "not-found",
  "too-large",
  "rate-limited",
  "internal",
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface Participant {
  id: string;
  name: string;
  role: Role;
  // In a welcome: their connection is down and the server keeps their place.
  reconnecting?: boolean;
}

export interface Track {
  id: string;
  participantId: string;
  kind: TrackKind;
  muted: boolean;
}

export interface RoomInfo {
  name: string;
  locked: boolean;
  limit: number;
  // The host's cap on each video or screen track, bit/s (absent or 0: none).
  maxBitrate?: number;
  // Joiners without an invite token wait in a lobby (version 2).
  lobby?: boolean;
}

// A joiner waiting in the lobby, as hosts see it; id is not a participant id.
export interface Knock {
  id: string;
  name: string;
  // A host removed this browser or app from the meeting earlier.
  removed?: boolean;
}

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface ChatMessage {
  seq: number;
  from: string;
  name: string;
  text: string;
  ts: number;
}

export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

// Client to server.
export type ClientMessage =
  | {
      type: "hello";
      id?: number;
      version: number;
      room: string;
      name: string;
      password?: string;
      token?: string;
      resume?: string;
      device?: string;
    }
  | { type: "publish"; id?: number; track: { id: string; kind: TrackKind; muted: boolean } }
  | { type: "unpublish"; id?: number; trackId: string }
  // participantId (version 2, hosts): mute another participant's track.
  | { type: "mute"; id?: number; trackId: string; muted: boolean; participantId?: string }
  | { type: "chat"; id?: number; text: string }
  | { type: "leave"; id?: number }
  | { type: "lock"; id?: number; locked: boolean }
  | { type: "remove"; id?: number; participantId: string }
  | { type: "end"; id?: number }
  | { type: "restart"; id?: number; pc: "subscribe" }
  // Version 2: stop or resume the forwarding of another participant's track;
  // referenceOnly (with paused false) asks for the frames later ones refer
  // to, for a tile drawn small.
  | { type: "pause"; id?: number; participantId: string; trackId: string; paused: boolean; referenceOnly?: boolean }
  | { type: "admit"; id?: number; knockId: string }
  | { type: "deny"; id?: number; knockId: string }
  // Version 3: the heartbeat of clients that cannot send WebSocket pings.
  | { type: "ping"; id?: number }
  | { type: "offer"; id?: number; pc: "publish"; sdp: string }
  | { type: "answer"; id?: number; pc: "subscribe"; sdp: string }
  | { type: "candidate"; id?: number; pc: PCName; candidate: IceCandidate | null };

// Server to client.
export type ServerMessage =
  | {
      type: "welcome";
      id?: number;
      version: number;
      participantId: string;
      room: RoomInfo;
      participants: Participant[];
      tracks: Track[];
      iceServers: IceServer[];
      chat: ChatMessage[];
      knocks?: Knock[];
      resumeToken?: string;
      resumed?: boolean;
    }
  | { type: "error"; id?: number; code: string; message: string }
  | { type: "participant-joined"; id?: number; participant: Participant }
  | { type: "participant-left"; id?: number; participantId: string; reason: LeaveReason }
  | { type: "participant-updated"; id?: number; participant: Participant }
  | { type: "track-published"; id?: number; track: Track }
  | { type: "track-unpublished"; id?: number; trackId: string; participantId: string }
  // by: the host who muted someone else's track.
  | { type: "mute"; id?: number; trackId: string; participantId: string; muted: boolean; by?: string }
  | { type: "speaking"; id?: number; participantId: string; speaking: boolean; level: number }
  | ({ type: "chat"; id?: number } & ChatMessage)
  | ({ type: "room"; id?: number } & RoomInfo)
  | { type: "ended"; id?: number; reason: EndReason }
  | { type: "participant-state"; id?: number; participantId: string; state: ConnectionStateName }
  | { type: "waiting"; id?: number }
  | { type: "knock"; id?: number; knock: Knock }
  | { type: "knock-ended"; id?: number; knockId: string; outcome: KnockOutcome; by?: string }
  // Version 3: the answer to a ping, with its id.
  | { type: "pong"; id?: number }
  | { type: "offer"; id?: number; pc: "subscribe"; sdp: string }
  | { type: "answer"; id?: number; pc: "publish"; sdp: string }
  | { type: "candidate"; id?: number; pc: PCName; candidate: IceCandidate | null };

// Unknown codes are treated like "internal" (PROTOCOL.md §7 error).
export function normalizeErrorCode(code: string): ErrorCode {
  return (errorCodes as readonly string[]).includes(code) ? (code as ErrorCode) : "internal";
}

// Parses one text frame from the server. Returns null for anything that is
// not an object with a string type, and for a version 2 message whose
// fields are missing or of the wrong type or enum value (PROTOCOL.md §2:
// such a message is applied not at all); unknown fields are kept (and
// ignored).
export function parseServerMessage(text: string): ServerMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null || typeof (v as { type?: unknown }).type !== "string") return null;
  return validV2(v as Record<string, unknown>) ? (v as ServerMessage) : null;
}

const isStr = (x: unknown): x is string => typeof x === "string" && x !== "";
const optStr = (x: unknown) => x === undefined || typeof x === "string";
const isKnock = (k: unknown): k is Knock =>
  typeof k === "object" && k !== null && isStr((k as Knock).id) && isStr((k as Knock).name);

function validV2(m: Record<string, unknown>): boolean {
  switch (m.type) {
    case "welcome":
      return (
        (m.knocks === undefined || (Array.isArray(m.knocks) && m.knocks.every(isKnock))) &&
        optStr(m.resumeToken) &&
        (m.resumed === undefined || typeof m.resumed === "boolean")
      );
    case "participant-state":
      return isStr(m.participantId) && (m.state === "reconnecting" || m.state === "connected");
    case "knock":
      return isKnock(m.knock);
    case "knock-ended":
      return isStr(m.knockId) && ["admitted", "denied", "withdrawn"].includes(m.outcome as string) && optStr(m.by);
    case "mute":
      return optStr(m.by);
    default:
      return true;
  }
}

// Room names: 1–64 letters, digits, "-", "_" or ".", not starting with
// ".": letters and digits of any script, as the server counts them
// (signal.ValidateRoomName: unicode.IsLetter, unicode.IsDigit).
export function isValidRoomName(name: string): boolean {
  return /^[\p{L}\p{Nd}_-][\p{L}\p{Nd}._-]{0,63}$/u.test(name);
}

// Display names: 1–64 code points, at least one visible, no control or bidi
// override characters. The server trims and collapses whitespace itself.
export function cleanDisplayName(raw: string): string {
  const collapsed = raw.replace(/\s+/g, " ").trim();
  // eslint-disable-next-line no-control-regex
  const stripped = collapsed.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "");
  return Array.from(stripped).slice(0, 64).join("");
}
