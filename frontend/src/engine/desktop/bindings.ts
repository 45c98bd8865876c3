// The Go side of the desktop engine: the methods of app.App that Wails binds
// under window.go.app.App, and the "parley" runtime event they emit. Typed
// here once; nothing else in the engine touches window.go or
// window.runtime.

import type { ServerMessage, TrackKind } from "../../protocol";

export interface DesktopLaunch {
  // "" shows the lobby; "host" and "join" go straight into a meeting
  // (parley --host, parley --join URL).
  action: "" | "host" | "join";
  url?: string;
  room?: string;
  name?: string;
  // The system user's name: what the window offers when no name is given
  // or remembered.
  defaultName?: string;
  password?: string;
  // With "host": joiners knock until admitted (parley --host --lobby).
  lobby?: boolean;
  stats?: boolean;
}

export interface HostOptions {
  room: string;
  name: string;
  password: string;
  lobby: boolean;
}

export interface DesktopJoinResult {
  selfId: string;
  invite: string;
  welcome: ServerMessage;
  renderUrl: string;
  // The screen share asked for on the command line (--share) is on.
  sharing?: boolean;
}

export interface RenderStats {
  renderId: number;
  width: number;
  height: number;
  framesDecoded: number;
  decodedFps: number;
}

export interface TileLayout {
  participant: string;
  self: boolean;
  screen: boolean;
  state: string;
  x: number;
  y: number;
  width: number;
  height: number;
  stats?: string;
}

export interface RenderReport {
  tracks: RenderStats[];
  layout: TileLayout[];
  devicePixelRatio: number;
  // Counts this engine's reports: calls may arrive out of order.
  seq: number;
}

export interface GoDevice {
  kind: "audioinput" | "videoinput" | "audiooutput";
  id: string;
  label: string;
  isDefault?: boolean;
  selected?: boolean;
}

export interface DesktopBindings {
  LaunchIntent(): Promise<DesktopLaunch>;
  RenderURL(): Promise<string>;
  Host(opts: HostOptions): Promise<DesktopJoinResult>;
  Join(url: string, name: string, password: string): Promise<DesktopJoinResult>;
  Leave(): Promise<void>;
  SendChat(text: string): Promise<void>;
  SetMuted(kind: "audio" | "video", muted: boolean): Promise<void>;
  SetLocked(locked: boolean): Promise<void>;
  RemoveParticipant(participantId: string): Promise<void>;
  EndMeeting(): Promise<void>;
  ReportRender(report: RenderReport): Promise<void>;
  MeetingAnswers?(url: string): Promise<boolean>;
  // Present once the Go side has devices and screen capture.
  Devices?(): Promise<GoDevice[]>;
  SelectDevice?(kind: string, id: string): Promise<void>;
  ShareScreen?(id: string): Promise<void>;
  Screens?(): Promise<{ id: string; label: string }[]>;
  Stats?(): Promise<GoTrackStats[]>;
  StopShare?(): Promise<void>;
  MicLevel?(): Promise<number>;
  // The user's bandwidth cap in kbit/s (0: none), each way.
  SetMaxBitrate?(kbps: number): Promise<void>;
  MaxBitrate?(): Promise<number>;
  // Present once the Go side binds the client's moderation calls
  // (client.Admit, Deny, MuteParticipant).
  Admit?(knockId: string): Promise<void>;
  Deny?(knockId: string): Promise<void>;
  MuteParticipant?(participantId: string, trackId: string): Promise<void>;
}

// One received track's counters (app.TrackStats).
export interface GoTrackStats {
  participantId: string;
  trackId: string;
  kind: TrackKind;
  packets: number;
  bytes: number;
  lost: number;
  width?: number;
  height?: number;
  rttMs?: number;
}

// Events on the "parley" runtime event.
export type GoEvent =
  | { type: "server"; message: ServerMessage }
  | { type: "media"; participantId: string; trackId: string; kind: TrackKind; renderId: number }
  // "reconnecting" / "connected" once Go reports its client's resume
  // (backend/client Event.State).
  | { type: "connection"; state: "connected" | "reconnecting" | "closed"; code?: string; message?: string }
  | { type: "toast"; message: string }
  | { type: "screen-ended" }
  // The room has a waiting room: Join returns once a host decides.
  | { type: "waiting" }
  // Go turned our camera or microphone off: its device went away.
  | { type: "local-mute"; kind: "audio" | "video"; muted: boolean };

export const eventName = "parley";

interface WailsRuntime {
  EventsOn(name: string, cb: (...data: unknown[]) => void): () => void;
  BrowserOpenURL(url: string): void;
}

type WailsWindow = Window & {
  go?: { app?: { App?: unknown } };
  runtime?: WailsRuntime;
};

// The bindings, or null outside the desktop window.
export function desktopBindings(win: Window = window): DesktopBindings | null {
  const app = (win as WailsWindow).go?.app?.App;
  return app ? (app as unknown as DesktopBindings) : null;
}

// Subscribes to the Go side's events; returns the unsubscribe function.
export function onGoEvent(cb: (ev: GoEvent) => void, win: Window = window): () => void {
  const rt = (win as WailsWindow).runtime;
  if (!rt) return () => undefined;
  return rt.EventsOn(eventName, (data) => {
    if (typeof data === "object" && data !== null && typeof (data as { type?: unknown }).type === "string") {
      cb(data as GoEvent);
    }
  });
}

// Opens url in the system's browser (the window itself must stay on the
// meeting).
export function openInBrowser(url: string, win: Window = window): void {
  (win as WailsWindow).runtime?.BrowserOpenURL(url);
}
