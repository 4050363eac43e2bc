import type { Split } from './types.js';

/** Percent with two decimals as an integer number of basis points (100 % = 10000). */
export function toBasisPoints(percent: number): number {
  return Math.round(percent * 100);
}

export function sumBasisPoints(split: Split): number {
  let total = 0;
  for (const pct of Object.values(split)) total += toBasisPoints(pct);
  return total;
}

export function hasTwoDecimalsAtMost(percent: number): boolean {
  return Math.abs(percent * 100 - Math.round(percent * 100)) < 1e-6;
}

/** Fills pools missing from `given` with 0 and rounds to two decimals. */
export function completeSplit(poolNames: readonly string[], given: Split): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pool of poolNames) out[pool] = toBasisPoints(given[pool] ?? 0) / 100;
  return out;
}

/** Blue-green flip: 100 to `to`, 0 to the rest. */
export function flipSplit(poolNames: readonly string[], to: string): Record<string, number> {
  return Object.fromEntries(poolNames.map((p) => [p, p === to ? 100 : 0]));
}

/**
 * Canary: `pool` gets `percent`, the rest goes to the largest other pool (ties: the first declared),
 * every other pool 0.
 */
export function canarySplit(poolNames: readonly string[], current: Split, pool: string, percent: number): Record<string, number> {
  let largest: string | undefined;
  for (const p of poolNames) {
    if (p === pool) continue;
    if (largest === undefined || (current[p] ?? 0) > (current[largest] ?? 0)) largest = p;
  }
  const out: Record<string, number> = {};
  const bp = toBasisPoints(percent);
  for (const p of poolNames) out[p] = 0;
  out[pool] = bp / 100;
  if (largest !== undefined) out[largest] = (10_000 - bp) / 100;
  return out;
}
