import { describe, expect, test } from 'vitest';
import { ejectDuration, INITIAL_OUTLIER_STATE, isEjected, maxEjected, onReturn, recordOutcome } from '../../src/health/outlier.js';
import type { OutlierState } from '../../src/health/outlier.js';

const S = { consecutiveFailures: 3, ejectForMs: 1000, maxEjectForMs: 5000, maxEjectedPercent: 50 };

describe('outlier detection', () => {
  test('consecutive failures eject on the threshold, not before', () => {
    let s: OutlierState = INITIAL_OUTLIER_STATE;
    const ejected: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const r = recordOutcome(s, false, 100, S, true);
      s = r.state;
      ejected.push(r.ejected);
    }
    expect(ejected).toEqual([false, false, true]);
    expect(isEjected(s, 100)).toBe(true);
    expect(isEjected(s, 1099)).toBe(true);
    expect(isEjected(s, 1100)).toBe(false);
  });

  test('a success resets the run', () => {
    let s: OutlierState = INITIAL_OUTLIER_STATE;
    for (const ok of [false, false, true, false, false]) s = recordOutcome(s, ok, 0, S, true).state;
    expect(s.consecutiveFailures).toBe(2);
    expect(isEjected(s, 0)).toBe(false);
  });

  test('success on a clean state returns the same object (no allocation on the hot path)', () => {
    const s = INITIAL_OUTLIER_STATE;
    expect(recordOutcome(s, true, 0, S, true).state).toBe(s);
  });

  test('maxEjectedPercent: no ejection when the pool cannot spare one', () => {
    let s: OutlierState = INITIAL_OUTLIER_STATE;
    let ejected = false;
    for (let i = 0; i < 10; i++) {
      const r = recordOutcome(s, false, 0, S, false);
      s = r.state;
      ejected ||= r.ejected;
    }
    expect(ejected).toBe(false);
  });

  test.each([
    [1, 50, 0],
    [2, 50, 1],
    [3, 50, 1],
    [4, 50, 2],
    [10, 10, 1],
    [10, 100, 10],
  ])('maxEjected(%i backends, %i%%) = %i', (size, pct, n) => {
    expect(maxEjected(size, pct)).toBe(n);
  });

  test('ejection time doubles on repeat and is capped', () => {
    expect([1, 2, 3, 4, 5].map((n) => ejectDuration(S, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  test('a returned backend that still fails is ejected again at once, for longer', () => {
    let s: OutlierState = INITIAL_OUTLIER_STATE;
    for (let i = 0; i < 3; i++) s = recordOutcome(s, false, 0, S, true).state;
    expect(s.ejectedUntil).toBe(1000);
    s = onReturn(s, S);
    const r = recordOutcome(s, false, 1000, S, true);
    expect(r.ejected).toBe(true);
    expect(r.state.ejectedUntil).toBe(1000 + 2000);
  });

  test('a backend that stays well after returning is forgiven its earlier ejections', () => {
    let s: OutlierState = INITIAL_OUTLIER_STATE;
    for (let i = 0; i < 3; i++) s = recordOutcome(s, false, 0, S, true).state;
    s = onReturn(s, S);
    s = recordOutcome(s, true, 1500, S, true).state; // within a base period after return: remembered
    expect(s.ejections).toBe(1);
    s = recordOutcome(s, true, 2000, S, true).state; // a full base period after the ejection ended
    expect(s.ejections).toBe(0);
  });

  test('outcomes while ejected (stragglers) change nothing', () => {
    let s: OutlierState = INITIAL_OUTLIER_STATE;
    for (let i = 0; i < 3; i++) s = recordOutcome(s, false, 0, S, true).state;
    const r = recordOutcome(s, false, 10, S, true);
    expect(r.state).toBe(s);
    expect(r.ejected).toBe(false);
  });
});
