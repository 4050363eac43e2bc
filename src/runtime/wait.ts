import type { EventEmitter } from 'node:events';

/** What may make a predicate true: a state applied, a backend idle or removed, workers' new counts. */
const SIGNALS = ['change', 'idle', 'removed', 'counts'];

/**
 * Resolves true when `predicate` holds (checked on every `change`, `idle`, `removed` and `counts`
 * the emitter signals, and every 100 ms), false at `deadlineMs`.
 */
export function waitForSignal(emitter: EventEmitter, predicate: () => boolean, deadlineMs: number, now: () => number): Promise<boolean> {
  if (predicate()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const check = (): void => {
      if (predicate()) done(true);
    };
    const timer = setTimeout(() => done(false), Math.max(0, deadlineMs - now()));
    const poll = setInterval(check, 100);
    const done = (v: boolean): void => {
      clearTimeout(timer);
      clearInterval(poll);
      for (const kind of SIGNALS) emitter.off(kind, check);
      resolve(v);
    };
    for (const kind of SIGNALS) emitter.on(kind, check);
  });
}
