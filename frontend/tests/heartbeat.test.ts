import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Heartbeat } from "../src/engine/heartbeat";
import { SignalingSocket } from "../src/engine/signaling";
import type { ServerMessage } from "../src/protocol";

// A WebSocket whose far end the test plays. close() does what a browser
// does on a cut link: it starts the closing handshake and reports nothing,
// since no close frame will ever come back.
class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static last: FakeWebSocket | null = null;

  readyState = FakeWebSocket.CONNECTING;
  sent: Record<string, unknown>[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  // Called for each message sent, to let the test answer it.
  answer: ((m: Record<string, unknown>) => void) | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;

  constructor(readonly url: string) {
    FakeWebSocket.last = this;
  }

  send(data: string): void {
    const m = JSON.parse(data) as Record<string, unknown>;
    this.sent.push(m);
    this.answer?.(m);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = FakeWebSocket.CLOSING;
  }

  // The far end.
  accept(): void {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.();
  }
  deliver(m: object): void {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
  dropped(code: number, reason = ""): void {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code, reason });
  }
  pings(): Record<string, unknown>[] {
    return this.sent.filter((m) => m.type === "ping");
  }
}

async function openSocket() {
  const messages: ServerMessage[] = [];
  const closes: [number, string][] = [];
  const sock = new SignalingSocket("ws://meeting.test/ws", {
    message: (m) => messages.push(m),
    closed: (code, reason) => closes.push([code, reason]),
  });
  const opening = sock.open();
  const ws = FakeWebSocket.last!;
  ws.accept();
  await opening;
  return { sock, ws, messages, closes };
}

describe("Heartbeat", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("declares a silent link lost after the timeout, once, and stops", () => {
    let pings = 0;
    let lost = 0;
    const hb = new Heartbeat(() => pings++, () => lost++, { intervalMs: 2000, timeoutMs: 5000, answerMs: 3000 });
    hb.start();
    vi.advanceTimersByTime(4999);
    expect([pings, lost]).toEqual([2, 0]);
    vi.advanceTimersByTime(1);
    expect(lost).toBe(1);
    expect(hb.running).toBe(false);
    vi.advanceTimersByTime(60_000);
    expect([pings, lost]).toEqual([2, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("never declares a link lost while something arrives", () => {
    let lost = 0;
    const hb = new Heartbeat(
      () => setTimeout(() => hb.heard(), 300),
      () => lost++,
      { intervalMs: 2000, timeoutMs: 5000, answerMs: 3000 },
    );
    hb.start();
    vi.advanceTimersByTime(120_000);
    expect(lost).toBe(0);
    hb.stop();
    vi.advanceTimersByTime(1000); // the last answer in flight
    expect(vi.getTimerCount()).toBe(0);
  });

  // A hidden tab's timers are held back, up to a minute: the deadline may
  // come before the ping that should have preceded it. Silence nobody
  // asked about is no loss: it pings then, and waits for the answer.
  it("does not take silence for a loss before a ping went unanswered", () => {
    let lost = 0;
    const pings: number[] = [];
    const hb = new Heartbeat(
      () => {
        pings.push(Date.now());
        setTimeout(() => hb.heard(), 300);
      },
      () => lost++,
      { intervalMs: 60_000, timeoutMs: 5000, answerMs: 3000 }, // pings held back to one a minute
    );
    const start = Date.now();
    hb.start();
    vi.advanceTimersByTime(300_000);
    expect(lost).toBe(0);
    expect(pings[0]! - start).toBe(5000); // asked when the deadline came
    hb.stop();
  });
});

describe("SignalingSocket heartbeat", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal("WebSocket", FakeWebSocket);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it("pings every 2 s and, when the server stops answering, reports the socket lost after 5 s and closes it with 4000", async () => {
    const { sock, ws, closes } = await openSocket();
    ws.answer = (m) => {
      if (m.type === "ping") ws.deliver({ type: "pong", id: m.id });
    };
    sock.startHeartbeat();
    vi.advanceTimersByTime(10_000);
    expect(ws.pings().length).toBe(5);
    expect(new Set(ws.pings().map((p) => p.id)).size).toBe(5);
    expect(closes).toEqual([]);

    // The network goes silent right after the pong to the ping at 10 s.
    ws.answer = null;
    vi.advanceTimersByTime(4999);
    expect(closes).toEqual([]);
    expect(ws.closedWith).toBeNull();
    vi.advanceTimersByTime(1);
    expect(closes).toEqual([[4000, "resuming"]]);
    expect(ws.closedWith).toEqual({ code: 4000, reason: "resuming" });
    expect(vi.getTimerCount()).toBe(0);

    // The dead socket's own close event, whenever it comes, is not a
    // second loss; and nothing pings any more.
    const sent = ws.sent.length;
    vi.advanceTimersByTime(60_000);
    ws.dropped(1006);
    expect(closes).toEqual([[4000, "resuming"]]);
    expect(ws.sent.length).toBe(sent);
  });

  it("never reports an answering socket lost, and keeps pongs to itself", async () => {
    const { sock, ws, messages, closes } = await openSocket();
    ws.answer = (m) => {
      if (m.type === "ping") setTimeout(() => ws.deliver({ type: "pong", id: m.id }), 400);
    };
    sock.startHeartbeat();
    vi.advanceTimersByTime(300_000);
    expect(closes).toEqual([]);
    expect(ws.closedWith).toBeNull();
    expect(ws.pings().length).toBe(150);
    expect(messages).toEqual([]);
  });

  it("counts any message as a sign of life", async () => {
    const { sock, ws, messages, closes } = await openSocket();
    sock.startHeartbeat();
    const chatter = setInterval(() => ws.deliver({ type: "speaking", participantId: "p1", speaking: true, level: 90 }), 1000);
    vi.advanceTimersByTime(30_000);
    expect(closes).toEqual([]);
    expect(messages.length).toBe(30);
    clearInterval(chatter);
    vi.advanceTimersByTime(5000);
    expect(closes).toEqual([[4000, "resuming"]]);
  });

  it("stops its timers when the socket is closed (leaving the meeting)", async () => {
    const { sock, ws, closes } = await openSocket();
    sock.startHeartbeat();
    vi.advanceTimersByTime(2000);
    sock.close();
    expect(sock.heartbeatRunning).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    expect(ws.closedWith).toEqual({ code: 1000, reason: undefined });
    const sent = ws.sent.length;
    vi.advanceTimersByTime(60_000);
    expect(ws.sent.length).toBe(sent);
    expect(closes).toEqual([]);
  });

  it("stops its timers when the server closes the socket", async () => {
    const { sock, ws, closes } = await openSocket();
    sock.startHeartbeat();
    vi.advanceTimersByTime(3000);
    ws.dropped(1001, "server shutting down");
    expect(sock.heartbeatRunning).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(closes).toEqual([[1001, "server shutting down"]]);
  });

  it("does not start on a closed socket", async () => {
    const { sock } = await openSocket();
    sock.close();
    sock.startHeartbeat();
    expect(sock.heartbeatRunning).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
