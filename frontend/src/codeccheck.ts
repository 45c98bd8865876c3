import { isVp8Keyframe, parseIvf } from "./ivf";
import type { CodecReport } from "./platform";

// The desktop webview has no WebRTC: video reaches it as encoded VP8 frames
// that WebCodecs decodes. This check proves at start-up that the path works,
// by decoding a real keyframe shipped with the app.

const fixtureURL = "/selftest/vp8-keyframe.ivf";
const decodeTimeoutMs = 5000;

export async function checkVideoDecoding(): Promise<CodecReport> {
  const report: CodecReport = {
    webcodecs: typeof VideoDecoder !== "undefined",
    vp8Supported: false,
    decodedWidth: 0,
    decodedHeight: 0,
    leftRGB: [],
    rightRGB: [],
    error: "",
  };
  if (!report.webcodecs) {
    report.error = "this webview has no WebCodecs VideoDecoder";
    return report;
  }
  try {
    const support = await VideoDecoder.isConfigSupported({ codec: "vp8" });
    report.vp8Supported = support.supported === true;
    if (!report.vp8Supported) {
      report.error = "WebCodecs reports VP8 decoding as unsupported";
      return report;
    }
    const resp = await fetch(fixtureURL);
    if (!resp.ok) throw new Error(`fetch ${fixtureURL}: HTTP ${resp.status}`);
    const ivf = parseIvf(await resp.arrayBuffer());
    const first = ivf.frames[0];
    if (!first || !isVp8Keyframe(first.data)) throw new Error("fixture has no VP8 keyframe");
    const frame = await decodeOne(first.data, first.timestamp);
    try {
      report.decodedWidth = frame.displayWidth;
      report.decodedHeight = frame.displayHeight;
      const [left, right] = halfAverages(frame);
      report.leftRGB = left;
      report.rightRGB = right;
    } finally {
      frame.close();
    }
  } catch (e) {
    report.error = e instanceof Error ? e.message : String(e);
  }
  return report;
}

function decodeOne(data: Uint8Array, timestamp: number): Promise<VideoFrame> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("VP8 decode timed out")), decodeTimeoutMs);
    const decoder = new VideoDecoder({
      output: (frame) => {
        clearTimeout(timer);
        resolve(frame);
        decoder.close();
      },
      error: (e) => {
        clearTimeout(timer);
        reject(new Error(`VideoDecoder: ${e.message}`));
      },
    });
    decoder.configure({ codec: "vp8" });
    decoder.decode(new EncodedVideoChunk({ type: "key", timestamp, data }));
    decoder.flush().catch((e: unknown) => {
      clearTimeout(timer);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
}

function halfAverages(frame: VideoFrame): [number[], number[]] {
  const w = frame.displayWidth;
  const h = frame.displayHeight;
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("no 2d canvas context");
  ctx.drawImage(frame, 0, 0);
  const px = ctx.getImageData(0, 0, w, h).data;
  return [averageRGB(px, w, 0, Math.floor(w / 2), h), averageRGB(px, w, Math.ceil(w / 2), w, h)];
}

export function averageRGB(px: Uint8ClampedArray, width: number, x0: number, x1: number, height: number): number[] {
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  for (let y = 0; y < height; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * width + x) * 4;
      r += px[i]!;
      g += px[i + 1]!;
      b += px[i + 2]!;
      n++;
    }
  }
  return n === 0 ? [0, 0, 0] : [Math.round(r / n), Math.round(g / n), Math.round(b / n)];
}
