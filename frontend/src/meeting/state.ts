// The meeting's UI state as a pure reducer of engine events (which mirror
// the protocol's room events) and UI actions. Everything the views show is
// derived from this, so it is tested without a browser.

import type { ConnectionState, EngineEvent, Quality, VideoSource } from "../engine/types";
import type { ChatMessage, ConnectionStateName, EndReason, Knock, Participant, RoomInfo, Track } from "../protocol";

export interface ParticipantState extends Participant {
  // Join order: welcome order first, then arrival order.
  order: number;
  speaking: boolean;
  level: number;
  quality: Quality;
  // "reconnecting" while their connection is down and the server keeps
  // their place (PROTOCOL.md participant-state).
  connection: ConnectionStateName;
}

export interface Toast {
  id: number;
  text: string;
}

export type Panel = "chat" | "participants" | "settings" | null;

export interface MeetingState {
  selfId: string;
  room: RoomInfo | null;
  connection: ConnectionState;
  participants: Record<string, ParticipantState>;
  nextOrder: number;
  // Keyed by trackKey(participantId, trackId).
  tracks: Record<string, Track>;
  // Media that arrived for a (participant, track): kept even before its
  // track-published, which may come later (PROTOCOL.md §5).
  media: Record<string, VideoSource>;
  activeSpeaker: string | null;
  pinned: string | null; // a tile id
  chat: ChatMessage[];
  unread: number;
  // Joiners waiting in the lobby (hosts only), oldest first.
  knocks: Knock[];
  panel: Panel;
  toasts: Toast[];
  nextToastId: number;
  ended: EndReason | null;
}

export type UIAction =
  | { type: "ui/pin"; tileId: string | null }
  | { type: "ui/panel"; panel: Panel }
  | { type: "ui/toggle-panel"; panel: Exclude<Panel, null> }
  | { type: "ui/toast"; text: string }
  | { type: "ui/toast-expired"; id: number };

export type Action = EngineEvent | UIAction;

export function trackKey(participantId: string, trackId: string): string {
  return `${participantId}\u0000${trackId}`;
}

export function initialState(): MeetingState {
  return {
    selfId: "",
    room: null,
    connection: "idle",
    participants: {},
    nextOrder: 0,
    tracks: {},
    media: {},
    activeSpeaker: null,
    pinned: null,
    chat: [],
    unread: 0,
    knocks: [],
    panel: null,
    toasts: [],
    nextToastId: 1,
    ended: null,
  };
}

const maxToasts = 4;

// Go's errors start in lower case; a toast is a sentence.
export function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function withToast(s: MeetingState, text: string): MeetingState {
  const toasts = [...s.toasts, { id: s.nextToastId, text }].slice(-maxToasts);
  return { ...s, toasts, nextToastId: s.nextToastId + 1 };
}

// A participant's connection as a welcome gives it (reconnecting or not).
function welcomedConnection(reconnecting: boolean | undefined): ConnectionStateName {
  return reconnecting ? "reconnecting" : "connected";
}

function addParticipant(s: MeetingState, { reconnecting, ...p }: Participant): MeetingState {
  const existing = s.participants[p.id];
  if (existing) return { ...s, participants: { ...s.participants, [p.id]: { ...existing, ...p } } };
  const ps: ParticipantState = { ...p, order: s.nextOrder, speaking: false, level: 0, quality: "unknown", connection: welcomedConnection(reconnecting) };
  return { ...s, participants: { ...s.participants, [p.id]: ps }, nextOrder: s.nextOrder + 1 };
}

function insertChat(list: ChatMessage[], m: ChatMessage): ChatMessage[] {
  return mergeChat(list, [m]);
}

// Adds the messages of `more` that `list` lacks, by seq (the room's
// sequence numbers), keeping seq order: chat seen live and the history of a
// resumed welcome overlap, and every message must show exactly once.
export function mergeChat(list: ChatMessage[], more: ChatMessage[]): ChatMessage[] {
  const have = new Set(list.map((m) => m.seq));
  const fresh = more.filter((m) => {
    if (have.has(m.seq)) return false;
    have.add(m.seq);
    return true;
  });
  if (fresh.length === 0) return list;
  const out = [...list, ...fresh];
  for (let i = 1; i < out.length; i++) {
    if (out[i - 1]!.seq > out[i]!.seq) return out.sort((a, b) => a.seq - b.seq);
  }
  return out;
}

// A resumed welcome: the room as it is now, but the same meeting for the
// user: join order, pins, media and toasts stay, chat missed while away is
// merged in (and counts as unread).
function resume(s: MeetingState, a: Extract<Action, { type: "welcome" }>): MeetingState {
  let n: MeetingState = { ...s, selfId: a.selfId, room: a.room, participants: {}, tracks: {}, knocks: [...a.knocks] };
  for (const { reconnecting, ...p } of a.participants) {
    const old = s.participants[p.id];
    // What we knew of their connection is stale: state changes sent while
    // we were away never reached us.
    n = old
      ? { ...n, participants: { ...n.participants, [p.id]: { ...old, ...p, connection: welcomedConnection(reconnecting) } } }
      : addParticipant(n, { ...p, reconnecting });
  }
  for (const t of a.tracks) n.tracks[trackKey(t.participantId, t.id)] = t;
  const present = (key: string) => !!n.participants[key.split("\u0000")[0]!];
  n.media = dropKeys(s.media, (k) => !present(k));
  if (n.activeSpeaker && !n.participants[n.activeSpeaker]) n.activeSpeaker = null;
  if (n.pinned && !n.participants[tileOwner(n.pinned)]) n.pinned = null;
  n.chat = mergeChat(s.chat, a.chat);
  if (s.panel !== "chat") {
    const seen = new Set(s.chat);
    n.unread = s.unread + n.chat.filter((m) => !seen.has(m) && m.from !== a.selfId).length;
  }
  return n;
}

function dropKeys<T>(rec: Record<string, T>, pred: (key: string, v: T) => boolean): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(rec)) if (!pred(k, v)) out[k] = v;
  return out;
}

function tileOwner(tileId: string): string {
  // tile ids: "cam:<pid>" or "screen:<pid>:<tid>"
  return tileId.split(":")[1] ?? "";
}

export function reduce(s: MeetingState, a: Action): MeetingState {
  switch (a.type) {
    case "connection":
      return { ...s, connection: a.state };
    case "welcome": {
      if (a.resumed) return resume(s, a);
      let n: MeetingState = {
        ...initialState(),
        panel: s.panel,
        toasts: s.toasts,
        nextToastId: s.nextToastId,
        connection: s.connection,
        selfId: a.selfId,
        room: a.room,
        chat: mergeChat([], a.chat),
        knocks: [...a.knocks],
      };
      for (const p of a.participants) n = addParticipant(n, p);
      for (const t of a.tracks) n.tracks[trackKey(t.participantId, t.id)] = t;
      return n;
    }
    case "participant-joined": {
      const fresh = !s.participants[a.participant.id];
      const n = addParticipant(s, a.participant);
      return fresh && a.participant.id !== s.selfId ? withToast(n, `${a.participant.name} joined`) : n;
    }
    case "participant-updated":
      return addParticipant(s, a.participant);
    case "participant-left": {
      const p = s.participants[a.participantId];
      if (!p) return s;
      const participants = dropKeys(s.participants, (k) => k === a.participantId);
      const prefix = `${a.participantId}\u0000`;
      let n: MeetingState = {
        ...s,
        participants,
        tracks: dropKeys(s.tracks, (k) => k.startsWith(prefix)),
        media: dropKeys(s.media, (k) => k.startsWith(prefix)),
        activeSpeaker: s.activeSpeaker === a.participantId ? null : s.activeSpeaker,
        pinned: s.pinned && tileOwner(s.pinned) === a.participantId ? null : s.pinned,
      };
      const how = a.reason === "gone" ? "lost connection" : a.reason === "removed" ? "was removed" : "left";
      n = withToast(n, `${p.name} ${how}`);
      return n;
    }
    case "track-published": {
      const t = a.track;
      return { ...s, tracks: { ...s.tracks, [trackKey(t.participantId, t.id)]: t } };
    }
    case "track-unpublished": {
      const key = trackKey(a.participantId, a.trackId);
      if (!s.tracks[key] && !s.media[key]) return s;
      const pinnedGone = s.pinned === `screen:${a.participantId}:${a.trackId}`;
      return {
        ...s,
        tracks: dropKeys(s.tracks, (k) => k === key),
        media: dropKeys(s.media, (k) => k === key),
        pinned: pinnedGone ? null : s.pinned,
      };
    }
    case "mute": {
      const key = trackKey(a.participantId, a.trackId);
      const t = s.tracks[key];
      const byHost = a.by !== undefined && a.by !== s.selfId && a.participantId === s.selfId && a.muted;
      const n = !t || t.muted === a.muted ? s : { ...s, tracks: { ...s.tracks, [key]: { ...t, muted: a.muted } } };
      return byHost ? withToast(n, "The host muted you. Unmute when you want to speak.") : n;
    }
    case "participant-state": {
      const p = s.participants[a.participantId];
      if (!p || p.connection === a.state) return s;
      return { ...s, participants: { ...s.participants, [p.id]: { ...p, connection: a.state } } };
    }
    case "knock":
      if (s.knocks.some((k) => k.id === a.knock.id)) return s;
      return { ...s, knocks: [...s.knocks, a.knock] };
    case "knock-ended":
      if (!s.knocks.some((k) => k.id === a.knockId)) return s;
      return { ...s, knocks: s.knocks.filter((k) => k.id !== a.knockId) };
    case "speaking": {
      const p = s.participants[a.participantId];
      if (!p) return s;
      const participants = { ...s.participants, [p.id]: { ...p, speaking: a.speaking, level: a.level } };
      // The active speaker is whoever started speaking last; they stay
      // active after they stop, until someone else speaks.
      const activeSpeaker = a.speaking ? p.id : s.activeSpeaker;
      return { ...s, participants, activeSpeaker };
    }
    case "quality": {
      const p = s.participants[a.participantId];
      if (!p || p.quality === a.quality) return s;
      return { ...s, participants: { ...s.participants, [p.id]: { ...p, quality: a.quality } } };
    }
    case "chat": {
      const chat = insertChat(s.chat, a.message);
      if (chat === s.chat) return s;
      const unread = s.panel !== "chat" && a.message.from !== s.selfId ? s.unread + 1 : s.unread;
      return { ...s, chat, unread };
    }
    case "room":
      return { ...s, room: a.room };
    case "ended":
      return { ...s, ended: a.reason };
    case "media": {
      const key = trackKey(a.participantId, a.trackId);
      if (a.kind !== "video") return s;
      if (a.source === null) {
        if (!s.media[key]) return s;
        return { ...s, media: dropKeys(s.media, (k) => k === key) };
      }
      return { ...s, media: { ...s.media, [key]: a.source } };
    }
    // Toasts here, not in the view: an engine tells of a missing device
    // while joining, before any view exists to show it.
    case "error":
      return a.fatal || a.code === "connection-lost" ? s : withToast(s, sentence(a.message));
    case "screen-ended":
      return withToast(s, "You stopped sharing your screen.");
    case "waiting":
      return s;
    case "ui/pin":
      return { ...s, pinned: a.tileId };
    case "ui/panel":
      return { ...s, panel: a.panel, unread: a.panel === "chat" ? 0 : s.unread };
    case "ui/toggle-panel": {
      const panel = s.panel === a.panel ? null : a.panel;
      return { ...s, panel, unread: panel === "chat" ? 0 : s.unread };
    }
    case "ui/toast":
      return withToast(s, a.text);
    case "ui/toast-expired":
      return { ...s, toasts: s.toasts.filter((t) => t.id !== a.id) };
  }
}

// ---- derived views ------------------------------------------------------------

export interface TileModel {
  id: string; // "cam:<pid>" or "screen:<pid>:<tid>"
  participantId: string;
  name: string;
  self: boolean;
  screen: boolean;
  // Microphone muted (or no microphone published).
  micMuted: boolean;
  // No video to show: no camera track, or it is muted.
  videoOff: boolean;
  trackId: string | null;
  source: VideoSource | null;
  speaking: boolean;
  active: boolean;
  pinned: boolean;
  quality: Quality;
  // The participant's connection dropped; the server keeps their place.
  reconnecting: boolean;
}

export function participantsInOrder(s: MeetingState): ParticipantState[] {
  return Object.values(s.participants).sort((a, b) => a.order - b.order);
}

// Labels that tell apart people with the same name (a host about to
// remove "Bob" must know which): in join order, the second "Bob" shows as
// "Bob (2)", the third as "Bob (3)". Yourself never: "(you)" tells you
// apart already, and someone who rejoins while their old session still
// holds its place would otherwise see themselves renamed.
export function distinctNames(people: readonly { id: string; name: string }[], selfId: string): Map<string, string> {
  const seen = new Map<string, number>();
  const labels = new Map<string, string>();
  for (const p of people) {
    const key = p.name.trim().toLocaleLowerCase();
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    labels.set(p.id, n === 1 || p.id === selfId ? p.name : `${p.name.trim()} (${n})`);
  }
  return labels;
}

function tracksOf(s: MeetingState, pid: string): Track[] {
  return Object.values(s.tracks).filter((t) => t.participantId === pid);
}

export function micMuted(s: MeetingState, pid: string): boolean {
  const audio = tracksOf(s, pid).filter((t) => t.kind === "audio");
  return audio.length === 0 || audio.every((t) => t.muted);
}

export function cameraOff(s: MeetingState, pid: string): boolean {
  const video = tracksOf(s, pid).filter((t) => t.kind === "video");
  return video.length === 0 || video.every((t) => t.muted);
}

export function sharing(s: MeetingState, pid: string): boolean {
  return tracksOf(s, pid).some((t) => t.kind === "screen");
}

// One camera tile per participant (self first, then join order), then one
// tile per screen share.
export function deriveTiles(s: MeetingState): TileModel[] {
  const people = participantsInOrder(s);
  const labels = distinctNames(people, s.selfId);
  people.sort((a, b) => (a.id === s.selfId ? -1 : b.id === s.selfId ? 1 : 0));
  const tiles: TileModel[] = [];
  const screens: TileModel[] = [];
  for (const p of people) {
    const own = tracksOf(s, p.id);
    const cam = own.find((t) => t.kind === "video") ?? null;
    const muted = micMuted(s, p.id);
    const id = `cam:${p.id}`;
    const name = labels.get(p.id) ?? p.name;
    tiles.push({
      id,
      participantId: p.id,
      name,
      self: p.id === s.selfId,
      screen: false,
      micMuted: muted,
      videoOff: !cam || cam.muted,
      trackId: cam?.id ?? null,
      source: cam ? (s.media[trackKey(p.id, cam.id)] ?? null) : null,
      speaking: p.speaking,
      active: s.activeSpeaker === p.id,
      pinned: s.pinned === id,
      quality: p.quality,
      reconnecting: p.connection === "reconnecting",
    });
    for (const t of own.filter((x) => x.kind === "screen")) {
      const sid = `screen:${p.id}:${t.id}`;
      screens.push({
        id: sid,
        participantId: p.id,
        name,
        self: p.id === s.selfId,
        screen: true,
        micMuted: muted,
        videoOff: t.muted,
        trackId: t.id,
        source: s.media[trackKey(p.id, t.id)] ?? null,
        speaking: false,
        active: false,
        pinned: s.pinned === sid,
        quality: p.quality,
        reconnecting: p.connection === "reconnecting",
      });
    }
  }
  return [...tiles, ...screens];
}

export function selfIsHost(s: MeetingState): boolean {
  return s.participants[s.selfId]?.role === "host";
}

// Leaving a meeting this app hosts stops its server: with others there,
// that ends the meeting for them too, which Leave must not do unasked.
export function leaveEndsMeeting(s: MeetingState, hostedHere: boolean): boolean {
  return hostedHere && Object.keys(s.participants).some((id) => id !== s.selfId);
}

export interface ParticipantRow {
  id: string;
  name: string;
  self: boolean;
  host: boolean;
  micMuted: boolean;
  cameraOff: boolean;
  sharing: boolean;
  speaking: boolean;
  reconnecting: boolean;
  // The microphone track a host can mute, if it is on.
  liveMicId: string | null;
}

// The participant list: you first, then hosts, then everyone by name.
export function participantRows(s: MeetingState): ParticipantRow[] {
  const people = participantsInOrder(s);
  const labels = distinctNames(people, s.selfId);
  const rows = people.map((p) => ({
    id: p.id,
    name: labels.get(p.id) ?? p.name,
    self: p.id === s.selfId,
    host: p.role === "host",
    micMuted: micMuted(s, p.id),
    cameraOff: cameraOff(s, p.id),
    sharing: sharing(s, p.id),
    speaking: p.speaking,
    reconnecting: p.connection === "reconnecting",
    liveMicId: tracksOf(s, p.id).find((t) => t.kind === "audio" && !t.muted)?.id ?? null,
  }));
  return rows.sort((a, b) => {
    if (a.self !== b.self) return a.self ? -1 : 1;
    if (a.host !== b.host) return a.host ? -1 : 1;
    return a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
  });
}

// Initials of the words that start with a letter or digit: "Bob (2)", the
// second Bob, is "B", not "B(".
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/\s+/)
    .filter((w) => /^[\p{L}\p{N}]/u.test(w));
  if (words.length === 0) return "?";
  const first = Array.from(words[0]!)[0] ?? "";
  const last = words.length > 1 ? (Array.from(words[words.length - 1]!)[0] ?? "") : "";
  return (first + last).toUpperCase();
}

export interface ChatGroup {
  from: string;
  name: string;
  self: boolean;
  ts: number;
  messages: ChatMessage[];
}

// Consecutive messages from one sender within five minutes form a group
// (one name and time header).
export function groupChat(messages: ChatMessage[], selfId: string, gapMs = 5 * 60 * 1000): ChatGroup[] {
  const groups: ChatGroup[] = [];
  for (const m of messages) {
    const last = groups[groups.length - 1];
    const prev = last?.messages[last.messages.length - 1];
    if (last && prev && last.from === m.from && m.ts - prev.ts <= gapMs) {
      last.messages.push(m);
    } else {
      groups.push({ from: m.from, name: m.name, self: m.from === selfId, ts: m.ts, messages: [m] });
    }
  }
  return groups;
}

// Chat input rules from PROTOCOL.md §7 chat: 1–4000 characters, at least one
// visible, no control characters except newline and tab.
export function prepareChat(raw: string): { text: string } | { error: string } {
  const text = raw.replace(/\r\n?/g, "\n").replace(/^\n+|\s+$/g, "");
  if (text.trim() === "") return { error: "Type a message first." };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) return { error: "The message has characters that cannot be sent." };
  if (Array.from(text).length > 4000) return { error: "The message is too long (4000 characters at most)." };
  return { text };
}
