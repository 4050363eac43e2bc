import { callBound } from './client-side.js';

/*
 * The deadline sweep after a busy event loop (pure: times come in). Deadlines are counted from the
 * engine's coarse clock, which the sweep sets on each tick; while the loop is busy (a rapid-reset
 * burst of a thousand streams took a worker 1.5-2.3 s on a loaded 2-core machine) the clock stands
 * still, so a request read at the end of the burst would be given `clock + timeout` from a clock
 * of before it: a timeout already spent, failed by the next sweep with 504 before its connect or
 * its answer was even read.
 */

/**
 * How late a sweep at `now` runs after the one at `prev` (ms), or 0 when on time: timers lag by a
 * few ms, a sweep more than one interval late means the loop was busy.
 */
export function sweepLag(prev: number, now: number, tickMs: number): number {
  const lag = now - prev - tickMs;
  return lag > tickMs ? lag : 0;
}

/**
 * A deadline set while the loop was busy (counted from the clock of before it) moves on by the
 * lag: a request read at the end of the stall keeps its whole timeout, less one interval at most,
 * as any deadline set between two sweeps. A gRPC call's own deadline, measured when its stream
 * came, still bounds a wait for a backend (callBound).
 */
export function stalledDeadline(deadline: number, kind: number, callDeadline: number, lag: number): number {
  const moved = deadline + lag;
  return callDeadline === 0 ? moved : callBound(moved, kind, callDeadline);
}
