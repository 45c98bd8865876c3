// Holds the meeting state and tells views when it changes. Subscribe it to
// the engine before join() so that the welcome is not missed.

import type { Engine } from "../engine/types";
import { initialState, reduce, type Action, type MeetingState } from "./state";

export class Store {
  state: MeetingState = initialState();
  private listeners = new Set<(s: MeetingState, a: Action) => void>();
  private unsubscribe: () => void = () => undefined;

  attach(engine: Engine): void {
    this.unsubscribe();
    this.unsubscribe = engine.on((ev) => this.dispatch(ev));
  }

  dispatch(a: Action): void {
    this.state = reduce(this.state, a);
    for (const l of [...this.listeners]) l(this.state, a);
  }

  subscribe(fn: (s: MeetingState, a: Action) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  detach(): void {
    this.unsubscribe();
    this.unsubscribe = () => undefined;
    this.listeners.clear();
  }
}
