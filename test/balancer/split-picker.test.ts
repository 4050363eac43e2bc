import { describe, expect, test } from 'vitest';
import { readStickyCookie } from '../../src/balancer/sticky.js';
import { SplitPicker } from '../../src/balancer/split-picker.js';

/** Picks at evenly spaced random values: an exact, deterministic histogram. */
function histogram(p: SplitPicker<string>, n = 10_000): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const pool = p.pick((i + 0.5) / n) ?? 'none';
    out[pool] = (out[pool] ?? 0) + 1;
  }
  return out;
}

describe('split picker', () => {
  test('divides exactly by basis points', () => {
    const p = new SplitPicker(
      [
        { pool: 'stable', share: 9950, available: true },
        { pool: 'canary', share: 50, available: true },
      ],
      false,
    );
    expect(histogram(p)).toEqual({ stable: 9950, canary: 50 });
  });

  test('a pool with no eligible backend spills its share to the pools with a share', () => {
    const p = new SplitPicker(
      [
        { pool: 'a', share: 5000, available: false },
        { pool: 'b', share: 3000, available: true },
        { pool: 'c', share: 2000, available: true },
        { pool: 'd', share: 0, available: true },
      ],
      false,
    );
    expect(histogram(p)).toEqual({ b: 6000, c: 4000 });
  });

  test('without failover: any, nothing to pick when every pool with a share is empty', () => {
    const shares = [
      { pool: 'blue', share: 10000, available: false },
      { pool: 'green', share: 0, available: true },
    ];
    expect(new SplitPicker(shares, false).pick(0.3)).toBeUndefined();
    expect(new SplitPicker(shares, true).pick(0.3)).toBe('green');
  });

  test('nothing at all: undefined', () => {
    expect(new SplitPicker([{ pool: 'x', share: 10000, available: false }], true).pick(0.5)).toBeUndefined();
  });
});

describe('sticky cookie', () => {
  test.each([
    ['turnout_web=green', 'green'],
    ['a=1; turnout_web=canary; b=2', 'canary'],
    ['a=1;turnout_web=blue', 'blue'],
    ['xturnout_web=blue', undefined],
    ['turnout_web2=blue', undefined],
    ['turnout_webx=1; turnout_web=stable', 'stable'],
    [undefined, undefined],
  ])('%s → %s', (header, pool) => {
    expect(readStickyCookie(header, 'turnout_web')).toBe(pool);
  });
});
