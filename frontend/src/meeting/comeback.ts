// After the meeting's server stopped or could not be reached, the page
// looks every few seconds whether it answers again and rejoins by itself,
// as a meeting app comes back after its host restarts: for 10 minutes,
// and at most 3 times in a row without getting in.

import type { ScreenText } from "./errors";

const comesBack = new Set(["shutdown", "unreachable", "connection-lost"]);
export const watchEveryMs = 3000;
export const watchForMs = 10 * 60_000;
export const maxAutoJoins = 3;

export interface Timers {
  setTimeout(f: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

export class Comeback {
  private gen = 0;
  private timer = 0;
  private autoJoins = 0;

  // answers says whether the meeting's server answers now.
  constructor(
    private readonly answers: () => Promise<boolean>,
    private readonly win: Timers = window,
  ) {}

  // show is called with each end screen: it watches when the meeting may
  // come back (rejoin is called then) and returns the screen to show,
  // which says so.
  show(text: ScreenText, rejoin: () => void): ScreenText {
    this.stop();
    if (!comesBack.has(text.view) || this.autoJoins >= maxAutoJoins) return text;
    const mine = this.gen;
    const until = Date.now() + watchForMs;
    const check = async () => {
      const back = await this.answers().catch(() => false);
      if (mine !== this.gen) return;
      if (back) {
        this.autoJoins++;
        rejoin();
      } else if (Date.now() < until) {
        this.timer = this.win.setTimeout(() => void check(), watchEveryMs);
      }
    };
    this.timer = this.win.setTimeout(() => void check(), watchEveryMs);
    return { ...text, message: `${text.message} This page rejoins by itself when the meeting answers again.` };
  }

  // stop ends the watch; a check still on its way is ignored.
  stop(): void {
    this.gen++;
    this.win.clearTimeout(this.timer);
  }

  // reset: the user chose what to do, or got in.
  reset(): void {
    this.autoJoins = 0;
  }

  // chosen wraps an end screen's button: the user choosing resets.
  chosen(f: () => void): () => void {
    return () => {
      this.reset();
      f();
    };
  }
}
