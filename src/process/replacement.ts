/** Crashes further apart than this start the back-off again. */
const CALM_MS = 30_000;
const FIRST_MS = 100;
const MAX_MS = 10_000;

/** The crash back-off's state: how many crashes in a row, and the last one's time. */
export interface CrashRecord {
  readonly crashes: number;
  readonly lastAt: number;
}

export const NO_CRASH: CrashRecord = { crashes: 0, lastAt: 0 };

/**
 * A worker died at `now`: how long until its replacement starts (100 ms, doubling with each
 * crash less than 30 s after the last, up to 10 s), and the record after it.
 */
export function replacementDelay(prev: CrashRecord, now: number): { readonly delayMs: number; readonly next: CrashRecord } {
  const crashes = now - prev.lastAt > CALM_MS ? 0 : prev.crashes;
  return { delayMs: Math.min(MAX_MS, FIRST_MS * 2 ** crashes), next: { crashes: crashes + 1, lastAt: now } };
}
