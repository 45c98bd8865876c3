// Browser capture helpers: constraints, friendly error text, the mic meter.

import type { Device, DeviceSelection } from "./types";

// Screen shares are capped at 1280×720 and 15 fps by default (issue 5).
export const screenConstraints: MediaTrackConstraints = {
  width: { max: 1280 },
  height: { max: 720 },
  frameRate: { max: 15 },
};

// 640×360 by default: the SFU forwards every camera to everyone without
// simulcast, so a receiver's downlink and decoder carry N−1 of these; 360p
// is plenty for grid tiles and keeps a ten-person call within a laptop's
// means.
export function cameraConstraints(deviceId?: string): MediaTrackConstraints {
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    width: { ideal: 640 },
    height: { ideal: 360 },
    frameRate: { ideal: 24, max: 30 },
  };
}

export function micConstraints(deviceId?: string): MediaTrackConstraints {
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
  };
}

export function describeMediaError(what: "camera" | "microphone", e: unknown): string {
  const name = e instanceof DOMException ? e.name : "";
  const What = what[0]!.toUpperCase() + what.slice(1);
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return `${What} blocked: allow it in the browser's address bar, then reload.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No ${what} found.`;
    case "NotReadableError":
    case "AbortError":
      return `The ${what} is in use by another program.`;
    default:
      return `The ${what} could not be opened${e instanceof Error && e.message ? `: ${e.message}` : "."}`;
  }
}

export async function listMediaDevices(): Promise<Device[]> {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const all = await navigator.mediaDevices.enumerateDevices();
  const counts: Record<string, number> = {};
  return all
    .filter((d) => d.deviceId !== "" || d.kind !== "audiooutput")
    .map((d) => {
      counts[d.kind] = (counts[d.kind] ?? 0) + 1;
      const fallback =
        d.kind === "videoinput" ? "Camera" : d.kind === "audioinput" ? "Microphone" : "Speaker";
      return { kind: d.kind, deviceId: d.deviceId, label: d.label || `${fallback} ${counts[d.kind]}` };
    });
}

export function selectionFor(track: MediaStreamTrack | null): string | undefined {
  return track?.getSettings().deviceId;
}

export type { DeviceSelection };

// Peak level of a microphone track, 0..1, read on demand.
export class LevelMeter {
  private ctx: AudioContext | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private analyser: AnalyserNode | null = null;
  private buf: Float32Array<ArrayBuffer> | null = null;

  attach(track: MediaStreamTrack | null): void {
    this.source?.disconnect();
    this.source = null;
    if (!track || typeof AudioContext === "undefined") return;
    try {
      this.ctx ??= new AudioContext();
      this.analyser ??= this.ctx.createAnalyser();
      this.analyser.fftSize = 512;
      this.buf = new Float32Array(this.analyser.fftSize);
      this.source = this.ctx.createMediaStreamSource(new MediaStream([track]));
      this.source.connect(this.analyser);
    } catch {
      this.source = null;
    }
  }

  // Browsers start an AudioContext suspended until a user gesture.
  resume(): void {
    if (this.ctx?.state === "suspended") void this.ctx.resume().catch(() => undefined);
  }

  level(): number {
    if (!this.analyser || !this.buf || !this.source) return 0;
    this.analyser.getFloatTimeDomainData(this.buf);
    let peak = 0;
    for (const v of this.buf) peak = Math.max(peak, Math.abs(v));
    return Math.min(1, peak);
  }

  close(): void {
    this.source?.disconnect();
    this.source = null;
    void this.ctx?.close().catch(() => undefined);
    this.ctx = null;
    this.analyser = null;
  }
}
