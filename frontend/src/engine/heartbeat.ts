// Application-level heartbeat on the signaling socket (PROTOCOL.md §1,
// connection liveness). Browsers cannot send WebSocket pings, and a
// silently cut network does not close a WebSocket for tens of seconds (or
// ever), so a browser client sends `ping` and counts the link as lost when
// nothing at all (a pong or any other message) arrives for a while.

export interface HeartbeatOptions {
  // How often a ping is sent.
  intervalMs: number;
  // How long the link may stay silent before it counts as lost.
  timeoutMs: number;
}

// Comfortably above the interval, so that one late pong on a busy link is
// no reason to resume; below the server's own ping timeout (PingInterval +
// PingTimeout), so that we notice first and resume before it gives up.
export const defaultHeartbeat: HeartbeatOptions = { intervalMs: 2000, timeoutMs: 5000 };

export class Heartbeat {
  private pinger: ReturnType<typeof setInterval> | null = null;
  private deadline: ReturnType<typeof setTimeout> | null = null;

  constructor(
    // Sends one ping; the heartbeat does not care about its id.
    private readonly sendPing: () => void,
    // Called once when the link has been silent for timeoutMs; the
    // heartbeat has stopped by then.
    private readonly lost: () => void,
    private readonly opts: HeartbeatOptions = defaultHeartbeat,
  ) {}

  get running(): boolean {
    return this.pinger !== null;
  }

  start(): void {
    if (this.running) return;
    this.pinger = setInterval(() => this.sendPing(), this.opts.intervalMs);
    this.heard();
  }

  // Anything received proves the link alive, not only pongs: a busy room
  // keeps the deadline away even if a pong is slow behind other messages.
  heard(): void {
    if (!this.running) return;
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      this.stop();
      this.lost();
    }, this.opts.timeoutMs);
  }

  stop(): void {
    if (this.pinger !== null) clearInterval(this.pinger);
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.pinger = null;
    this.deadline = null;
  }
}
