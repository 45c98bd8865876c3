// One signaling WebSocket: JSON text frames, request ids, replies matched to
// requests (PROTOCOL.md §2, §4).

import { normalizeErrorCode, parseServerMessage, type ClientMessage, type ServerMessage } from "../protocol";
import { defaultHeartbeat, Heartbeat, type HeartbeatOptions } from "./heartbeat";
import { EngineError } from "./types";

// The close that asks the server to keep the session for a resume
// (PROTOCOL.md §9): we give up on this socket, not on the meeting.
export const resumeCloseCode = 4000;
export const resumeCloseReason = "resuming";

type Pending = {
  resolve: (m: ServerMessage) => void;
  reject: (e: EngineError) => void;
  // A `waiting` that answers a hello (PROTOCOL.md §3, lobby): the reply
  // proper comes later, whenever a host decides.
  waiting?: () => void;
};

export interface SocketHandlers {
  message(m: ServerMessage): void;
  // The socket closed; `code` is the WebSocket close code.
  closed(code: number, reason: string): void;
}

export function signalingURL(loc: Pick<Location, "protocol" | "host">): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}

export class SignalingSocket {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private isClosed = false;
  private heartbeat: Heartbeat | null = null;

  constructor(
    private readonly url: string,
    private readonly handlers: SocketHandlers,
  ) {}

  open(timeoutMs = 10000): Promise<void> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        reject(new EngineError("connection-lost", `cannot open ${this.url}: ${String(e)}`));
        return;
      }
      this.ws = ws;
      let opened = false;
      const timer = setTimeout(() => {
        if (!opened) {
          ws.close();
          reject(new EngineError("connection-lost", "the server did not answer"));
        }
      }, timeoutMs);
      ws.onopen = () => {
        opened = true;
        clearTimeout(timer);
        resolve();
      };
      ws.onmessage = (ev) => {
        this.heartbeat?.heard();
        if (typeof ev.data !== "string") return;
        const msg = parseServerMessage(ev.data);
        if (!msg) return;
        this.dispatch(msg);
      };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        this.stopHeartbeat();
        const wasClosed = this.isClosed;
        this.isClosed = true;
        this.failPending(new EngineError("connection-lost", "the connection to the meeting closed"));
        if (!opened) {
          reject(new EngineError("connection-lost", "could not reach the meeting server"));
          return;
        }
        if (!wasClosed) this.handlers.closed(ev.code, ev.reason);
      };
    });
  }

  private dispatch(msg: ServerMessage): void {
    // Its arrival was all it had to say (onmessage).
    if (msg.type === "pong") return;
    const id = msg.id ?? 0;
    const p = id !== 0 ? this.pending.get(id) : undefined;
    if (p && msg.type === "waiting" && p.waiting) {
      p.waiting();
      return;
    }
    if (p) {
      this.pending.delete(id);
      if (msg.type === "error") {
        p.reject(new EngineError(normalizeErrorCode(msg.code), msg.message));
        // Errors that answer a request are handled by the requester.
        return;
      }
      p.resolve(msg);
    }
    this.handlers.message(msg);
  }

  get open_(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(msg: ClientMessage): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(msg));
  }

  // Sends msg with a fresh id and resolves with the server's reply that
  // carries the id (or rejects with its error). With onWaiting, a
  // `waiting` with the id calls it and stops the timeout: the reply comes
  // when it comes (or the socket closes).
  request(msg: ClientMessage, timeoutMs = 15000, onWaiting?: () => void): Promise<ServerMessage> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new EngineError("connection-lost", "not connected"));
        return;
      }
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new EngineError("internal", `no reply to ${msg.type}`));
      }, timeoutMs);
      this.pending.set(id, {
        ...(onWaiting
          ? {
              waiting: () => {
                clearTimeout(timer);
                onWaiting();
              },
            }
          : {}),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  // Sends `ping` every opts.intervalMs until the socket closes; if nothing
  // arrives for opts.timeoutMs the socket counts as lost, exactly like an
  // unexpected close: the handlers hear `closed` at once, with code 4000,
  // and the dead socket is closed with that code so that the server keeps
  // the session for the resume that follows. For sessions only, after the
  // welcome (PROTOCOL.md §1).
  startHeartbeat(opts: HeartbeatOptions = defaultHeartbeat): void {
    if (this.isClosed || this.heartbeat) return;
    this.heartbeat = new Heartbeat(
      () => this.send({ type: "ping", id: this.nextId++ }),
      () => this.lostSilently(),
      opts,
    );
    this.heartbeat.start();
  }

  get heartbeatRunning(): boolean {
    return this.heartbeat?.running ?? false;
  }

  private stopHeartbeat(): void {
    this.heartbeat?.stop();
    this.heartbeat = null;
  }

  // The link went silent: its onclose may come much later or never (the
  // close handshake cannot cross a cut network), so report the loss now.
  private lostSilently(): void {
    this.stopHeartbeat();
    if (this.isClosed) return;
    this.isClosed = true;
    this.failPending(new EngineError("connection-lost", "the meeting server stopped answering"));
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(resumeCloseCode, resumeCloseReason);
    this.handlers.closed(resumeCloseCode, resumeCloseReason);
  }

  // Closes without reporting `closed` to the handlers.
  close(): void {
    this.stopHeartbeat();
    this.isClosed = true;
    this.failPending(new EngineError("connection-lost", "closed"));
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }

  private failPending(e: EngineError): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
