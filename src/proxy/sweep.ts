import { stalledDeadline, sweepLag } from './deadline.js';

/**
 * How often deadlines are checked (ms). One timer for the whole server instead of one per request:
 * timeouts are precise to this tick, and a request costs no timer.
 */
export const TICK_MS = 50;

/** What the sweep reads of a client connection (a ClientConnection), and moves. */
export interface Swept {
  /** ctx.clock ms; 0 = none. */
  deadline: number;
  readonly deadlineKind: number;
  /** The clock its deadline was counted from. */
  readonly deadlineFrom: number;
  readonly callDeadline: number;
  /** Its deadline passed. */
  tick(): void;
}

/**
 * The server's coarse clock and the sweep of its connections' deadlines. A sweep that runs late
 * (the loop was busy) moves the deadlines set during the stall on by the lag (deadline.ts), and
 * judges every deadline only after this turn's poll phase (setImmediate): timers run first in a
 * loop turn, so a connect that completed or an answer that arrived in time, during the stall, is
 * read before its request is judged, not failed unread.
 */
export class DeadlineSweep {
  /** Coarse monotonic clock (ms, performance.now() at the last sweep): deadlines are counted from it. */
  clock = performance.now();
  private readonly conns: ReadonlySet<Swept>;
  private readonly timer: NodeJS.Timeout;
  private later: NodeJS.Immediate | undefined;

  constructor(conns: ReadonlySet<Swept>) {
    this.conns = conns;
    this.timer = setInterval(this.sweep, TICK_MS);
    this.timer.unref();
  }

  private readonly sweep = (): void => {
    const from = this.clock;
    const now = performance.now();
    this.clock = now;
    const lag = sweepLag(from, now, TICK_MS);
    if (lag === 0) return this.judge();
    for (const c of this.conns) if (c.deadline !== 0 && c.deadlineFrom === from) c.deadline = stalledDeadline(c.deadline, c.deadlineKind, c.callDeadline, lag);
    this.later ??= setImmediate(this.judge);
  };

  private readonly judge = (): void => {
    this.later = undefined;
    const now = this.clock;
    for (const c of this.conns) if (c.deadline !== 0 && now >= c.deadline) c.tick();
  };

  stop(): void {
    clearInterval(this.timer);
    if (this.later !== undefined) clearImmediate(this.later);
    this.later = undefined;
  }
}
