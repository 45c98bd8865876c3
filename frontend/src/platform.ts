// The same build runs in the desktop window (Wails injects window.go with the
// Go bindings) and in a plain browser opened from an invite link. Everything
// that differs between the two is decided here, once.

import type { LANSource } from "./views/nearby";

export interface CodecReport {
  webcodecs: boolean;
  vp8Supported: boolean;
  decodedWidth: number;
  decodedHeight: number;
  // Average colours of the left and right halves of the decoded fixture,
  // as [r, g, b]; the fixture is red on the left and blue on the right.
  leftRGB: number[];
  rightRGB: number[];
  error: string;
}

interface AppBindings {
  Version(): Promise<string>;
  ReportCodecSupport(r: CodecReport): Promise<void>;
  ReportView(view: string, seq: number): Promise<void>;
}

declare global {
  interface Window {
    go?: { app?: { App?: AppBindings; LAN?: LANSource } };
  }
}

export type Platform =
  | { kind: "desktop"; app: AppBindings; lan?: LANSource }
  | { kind: "browser" };

export function detectPlatform(win: Window = window): Platform {
  const app = win.go?.app?.App;
  if (!app) return { kind: "browser" };
  const lan = win.go?.app?.LAN;
  return lan ? { kind: "desktop", app, lan } : { kind: "desktop", app };
}
