import { describe, expect, test } from 'vitest';
import { EdfBalancer } from '../../src/balancer/edf.js';

type Weights = Readonly<Record<string, number>>;

function balancer(weights: Weights): EdfBalancer<string> {
  return new EdfBalancer(Object.keys(weights), (id) => weights[id] ?? 0);
}

function sequence(weights: Weights, n: number): string {
  const b = balancer(weights);
  let out = '';
  for (let i = 0; i < n; i++) out += b.pick() ?? '-';
  return out;
}

function counts(weights: Weights, n: number): Record<string, number> {
  const b = balancer(weights);
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = b.pick() ?? '-';
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

describe('EDF weighted round robin', () => {
  test.each([
    { weights: { a: 3, b: 1 }, n: 8, expected: 'aabaaaba' },
    { weights: { a: 1, b: 3 }, n: 8, expected: 'babbbbab' },
    { weights: { a: 1, b: 1 }, n: 6, expected: 'ababab' },
    { weights: { a: 100, b: 100, c: 100 }, n: 6, expected: 'abcabc' },
    { weights: { a: 2, b: 1, c: 1 }, n: 8, expected: 'abacabac' },
    { weights: { a: 5, b: 3, c: 2 }, n: 20, expected: 'abcaabacbaabcaabacba' },
    // weight 0 takes nothing
    { weights: { a: 100, b: 0, c: 50 }, n: 6, expected: 'acaaca' },
    // fractional weights (slow start) keep the same proportions
    { weights: { a: 0.75, b: 0.25 }, n: 8, expected: 'aabaaaba' },
  ])('weights $weights: first $n picks are $expected', ({ weights, n, expected }) => {
    expect(sequence(weights, n)).toBe(expected);
  });

  test.each([
    { weights: { a: 3, b: 1 }, expected: { a: 7500, b: 2500 } },
    { weights: { a: 5, b: 3, c: 2 }, expected: { a: 5000, b: 3000, c: 2000 } },
    { weights: { a: 7, b: 3 }, expected: { a: 7000, b: 3000 } },
    { weights: { a: 1000, b: 1 }, expected: { a: 9990, b: 10 } },
    // not a whole number of rounds: each count within one pick of its exact share
    { weights: { a: 100, b: 50, c: 25 }, expected: { a: 5714, b: 2857, c: 1429 } },
    { weights: { a: 1, b: 1, c: 1 }, expected: { a: 3334, b: 3333, c: 3333 } },
  ])('weights $weights over 10,000 picks: $expected', ({ weights, expected }) => {
    const got = counts(weights, 10_000);
    expect(got).toEqual(expected);
    const total = Object.values(weights).reduce((s, w) => s + w, 0);
    for (const [id, w] of Object.entries(weights)) expect(Math.abs((got[id] ?? 0) - (10_000 * w) / total)).toBeLessThanOrEqual(1);
  });

  test('even interleaving: within any window of one round, each backend gets its share to within one pick', () => {
    const weights = { a: 5, b: 3, c: 2 };
    const b = balancer(weights);
    const picks = Array.from({ length: 1000 }, () => b.pick() ?? '-');
    for (let start = 0; start + 10 <= picks.length; start++) {
      const window = picks.slice(start, start + 10);
      for (const [id, w] of Object.entries(weights)) {
        const n = window.filter((p) => p === id).length;
        expect(Math.abs(n - w)).toBeLessThanOrEqual(1);
      }
    }
  });

  test('no candidate, or only zero weights: pick answers undefined', () => {
    expect(balancer({}).pick()).toBeUndefined();
    const zero = balancer({ a: 0, b: 0 });
    expect(zero.size).toBe(0);
    expect(zero.pick()).toBeUndefined();
  });

  test('size counts only candidates with a positive weight', () => {
    expect(balancer({ a: 1, b: 0, c: 2 }).size).toBe(2);
  });

  test('pickOther skips the avoided candidate and answers undefined when it is the only one', () => {
    const two = balancer({ a: 1, b: 1 });
    expect(two.pickOther('a')).toBe('b');
    expect(two.pickOther('b')).toBe('a');
    expect(balancer({ a: 1 }).pickOther('a')).toBeUndefined();
    expect(balancer({ a: 1, b: 0 }).pickOther('a')).toBeUndefined();
  });

  // Regression: pickOther popped at most `size` times, so behind a heavy backend a light one was never
  // reached and a refused request to the heavy one was not retried.
  test('pickOther reaches a light candidate behind a heavy one (weights 1000 and 1)', () => {
    const b = balancer({ a: 1000, b: 1 });
    for (let i = 0; i < 50; i++) expect(b.pickOther('a')).toBe('b');
    // …and the heavy one keeps its turn: it is not charged for the picks that avoided it.
    expect(b.pick()).toBe('a');
  });
});
