// When the signaling connection drops, the engine tries again and again
// (resume first, PROTOCOL.md §3) with growing pauses, and gives up after a
// while so that the user is not left looking at a frozen meeting forever.
// This is that schedule, without any I/O: the engine hands it one attempt
// as a function, and it is tested with fake timers.

export interface ReconnectPolicy {
  // Stop trying this long after the connection dropped.
  giveUpAfterMs: number;
  // Pause before the second attempt (the first is immediate); it doubles
  // after each failure, up to maxDelayMs.
  firstDelayMs: number;
  maxDelayMs: number;
}

// The server keeps a dropped session for 30 s; trying twice as long lets a
// longer outage still end in a fresh join rather than a dead page.
export const defaultReconnectPolicy: ReconnectPolicy = { giveUpAfterMs: 60_000, firstDelayMs: 250, maxDelayMs: 5_000 };

// "done": connected again; "retry": try later; "fatal": stop (the attempt
// reported why itself).
export type AttemptResult = "done" | "retry" | "fatal";

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

export interface ReconnectCallbacks {
  // The next attempt (1-based) starts in delayMs.
  waiting(attempt: number, delayMs: number): void;
  // giveUpAfterMs passed without success; no attempt follows.
  gaveUp(): void;
}

export class Reconnector {
  private running = false;
  private startedAt = 0;
  private attempt = 0;
  private timer = 0;
  private deadline = 0;
  private inFlight = false;

  constructor(
    private readonly policy: ReconnectPolicy,
    private readonly timers: Timers,
    private readonly tryOnce: (attempt: number) => Promise<AttemptResult>,
    private readonly cb: ReconnectCallbacks,
  ) {}

  // True from start() until success, a fatal attempt, giving up or stop().
  get active(): boolean {
    return this.running;
  }

  // Begins (or restarts) the schedule: the first attempt runs at once.
  start(): void {
    this.stop();
    this.running = true;
    this.startedAt = this.timers.now();
    this.attempt = 0;
    this.deadline = this.timers.setTimeout(() => this.giveUp(), this.policy.giveUpAfterMs);
    this.wait(0);
  }

  // Tries now instead of at the end of the current pause.
  now(): void {
    if (!this.running || this.inFlight) return;
    this.timers.clearTimeout(this.timer);
    this.timer = 0;
    void this.run();
  }

  stop(): void {
    this.running = false;
    this.timers.clearTimeout(this.timer);
    this.timers.clearTimeout(this.deadline);
    this.timer = 0;
    this.deadline = 0;
  }

  // Pause before attempt n+1 after n failures.
  delayAfter(failures: number): number {
    if (failures === 0) return 0;
    return Math.min(this.policy.firstDelayMs * 2 ** (failures - 1), this.policy.maxDelayMs);
  }

  private wait(delay: number): void {
    const left = this.startedAt + this.policy.giveUpAfterMs - this.timers.now();
    const ms = Math.max(0, Math.min(delay, left));
    this.cb.waiting(this.attempt + 1, ms);
    this.timer = this.timers.setTimeout(() => {
      this.timer = 0;
      void this.run();
    }, ms);
  }

  private async run(): Promise<void> {
    if (!this.running) return;
    this.inFlight = true;
    this.attempt++;
    let result: AttemptResult;
    try {
      result = await this.tryOnce(this.attempt);
    } catch {
      result = "retry";
    }
    this.inFlight = false;
    if (!this.running) return; // gave up or stopped meanwhile
    if (result !== "retry") {
      this.stop();
      return;
    }
    if (this.timers.now() - this.startedAt >= this.policy.giveUpAfterMs) {
      this.giveUp();
      return;
    }
    this.wait(this.delayAfter(this.attempt));
  }

  private giveUp(): void {
    if (!this.running) return;
    this.stop();
    this.cb.gaveUp();
  }
}
