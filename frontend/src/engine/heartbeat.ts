// Application-level heartbeat on the signaling socket (PROTOCOL.md §1,
// connection liveness). Browsers cannot send WebSocket pings, and a
// silently cut network does not close a WebSocket for tens of seconds (or
// ever), so a browser client sends `ping` and counts the link as lost when
// nothing at all (a pong or any other message) arrives for a while.

export interface HeartbeatOptions {
  // How often a ping is sent.
  intervalMs: number;
  // How long the link may stay silent before it counts as lost…
  timeoutMs: number;
  // …provided a ping went unanswered for this long by then.
  answerMs: number;
}

// Comfortably above the interval, so that one late pong on a busy link is
// no reason to resume; below the server's own ping timeout (PingInterval +
// PingTimeout), so that we notice first and resume before it gives up.
export const defaultHeartbeat: HeartbeatOptions = { intervalMs: 2000, timeoutMs: 5000, answerMs: 3000 };

export class Heartbeat {
  private pinger: ReturnType<typeof setInterval> | null = null;
  private deadline: ReturnType<typeof setTimeout> | null = null;
  // When the first ping since the link was last heard went out, 0 if none.
  private pingedAt = 0;

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
    this.pinger = setInterval(() => this.ping(), this.opts.intervalMs);
    this.heard();
  }

  // Anything received proves the link alive, not only pongs: a busy room
  // keeps the deadline away even if a pong is slow behind other messages.
  heard(): void {
    if (!this.running) return;
    this.pingedAt = 0;
    this.arm(this.opts.timeoutMs);
  }

  stop(): void {
    if (this.pinger !== null) clearInterval(this.pinger);
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.pinger = null;
    this.deadline = null;
  }

  private ping(): void {
    if (this.pingedAt === 0) this.pingedAt = Date.now();
    this.sendPing();
  }

  private arm(ms: number): void {
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.check(), ms);
  }

  // The link is lost only if a ping went unanswered for long enough. A
  // hidden tab's timers may be held back for up to a minute, and then the
  // deadline can fire before the ping that should have preceded it: that
  // is silence we did not ask about.
  private check(): void {
    const unanswered = this.pingedAt === 0 ? 0 : Date.now() - this.pingedAt;
    if (unanswered >= this.opts.answerMs) {
      this.stop();
      this.lost();
      return;
    }
    if (this.pingedAt === 0) this.ping();
    this.arm(this.opts.answerMs - unanswered);
  }
}
