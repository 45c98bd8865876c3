// IVF is the minimal container vpxenc writes: a 32-byte file header followed
// by frames, each with a 12-byte header (size, 64-bit timestamp).

export interface IvfHeader {
  fourcc: string;
  width: number;
  height: number;
  timebaseDen: number;
  timebaseNum: number;
  frameCount: number;
}

export interface IvfFrame {
  timestamp: number;
  data: Uint8Array;
}

export interface Ivf {
  header: IvfHeader;
  frames: IvfFrame[];
}

const fileHeaderSize = 32;
const frameHeaderSize = 12;

export function parseIvf(buf: ArrayBuffer): Ivf {
  const view = new DataView(buf);
  if (buf.byteLength < fileHeaderSize) {
    throw new Error(`ivf: file is ${buf.byteLength} bytes, shorter than its header`);
  }
  const magic = ascii(buf, 0, 4);
  if (magic !== "DKIF") {
    throw new Error(`ivf: bad signature ${JSON.stringify(magic)}`);
  }
  const headerLen = view.getUint16(6, true);
  const header: IvfHeader = {
    fourcc: ascii(buf, 8, 4),
    width: view.getUint16(12, true),
    height: view.getUint16(14, true),
    timebaseDen: view.getUint32(16, true),
    timebaseNum: view.getUint32(20, true),
    frameCount: view.getUint32(24, true),
  };
  const frames: IvfFrame[] = [];
  let off = headerLen;
  while (off + frameHeaderSize <= buf.byteLength) {
    const size = view.getUint32(off, true);
    const timestamp = Number(view.getBigUint64(off + 4, true));
    const start = off + frameHeaderSize;
    if (start + size > buf.byteLength) {
      throw new Error(`ivf: frame at offset ${off} claims ${size} bytes past the end`);
    }
    frames.push({ timestamp, data: new Uint8Array(buf, start, size) });
    off = start + size;
  }
  return { header, frames };
}

function ascii(buf: ArrayBuffer, start: number, len: number): string {
  return String.fromCharCode(...new Uint8Array(buf, start, len));
}

// A VP8 keyframe has bit 0 of the first payload byte cleared (RFC 6386 §9.1).
export function isVp8Keyframe(frame: Uint8Array): boolean {
  return frame.length > 0 && (frame[0]! & 0x01) === 0;
}
