import { describe, expect, test } from 'vitest';
import { NO_CRASH, replacementDelay } from '../../src/process/replacement.js';

// A dead worker's replacement waits 100 ms, doubling with each crash less than 30 s after the
// last, up to 10 s; a calm 30 s starts again from 100 ms.

describe('replacementDelay', () => {
  test.each([
    { name: 'first crash', prev: NO_CRASH, now: 1_000_000, delayMs: 100, crashes: 1 },
    { name: 'second within 30 s', prev: { crashes: 1, lastAt: 1_000_000 }, now: 1_010_000, delayMs: 200, crashes: 2 },
    { name: 'fifth within 30 s', prev: { crashes: 4, lastAt: 1_000_000 }, now: 1_000_500, delayMs: 1600, crashes: 5 },
    { name: 'capped at 10 s', prev: { crashes: 9, lastAt: 1_000_000 }, now: 1_000_100, delayMs: 10_000, crashes: 10 },
    { name: 'calm for more than 30 s', prev: { crashes: 6, lastAt: 1_000_000 }, now: 1_030_001, delayMs: 100, crashes: 1 },
    { name: 'exactly 30 s later still counts', prev: { crashes: 2, lastAt: 1_000_000 }, now: 1_030_000, delayMs: 400, crashes: 3 },
  ])('$name', ({ prev, now, delayMs, crashes }) => {
    const out = replacementDelay(prev, now);
    expect(out.delayMs).toBe(delayMs);
    expect(out.next).toEqual({ crashes, lastAt: now });
  });
});
