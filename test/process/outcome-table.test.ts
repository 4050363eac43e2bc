import { describe, expect, test } from 'vitest';
import { GROUP_SIZE, OutcomeTable } from '../../src/process/outcome-table.js';
import { DURATION_BUCKETS, HOLD_WAIT_BUCKETS, WINDOW_BOUNDS_MS, boundIndex, durationClass } from '../../src/telemetry/buckets.js';

/** take()'s groups as objects. */
function groups(rec: Float64Array): { key: number[]; count: number; sum: number }[] {
  const out: { key: number[]; count: number; sum: number }[] = [];
  for (let i = 0; i < rec.length; i += GROUP_SIZE) out.push({ key: [...rec.subarray(i, i + 6)], count: rec[i + 6] as number, sum: rec[i + 7] as number });
  return out;
}

describe('OutcomeTable: a worker groups its outcomes between reports', () => {
  test('outcomes alike add to one group (count, sum); different keys make their own, in the order they began', () => {
    const t = new OutcomeTable();
    t.add(0, 1, 2, 3, 200, 10, 1.5);
    t.add(0, 1, 2, 3, 200, 10, 2.5);
    t.add(0, 1, 2, 4, 200, 10, 1);
    t.add(0, 1, 2, 3, 500, 10, 3);
    t.add(2, 1, 2, 3, 7, 1, 0);
    expect(t.size).toBe(4);
    expect(groups(t.take())).toEqual([
      { key: [0, 1, 2, 3, 200, 10], count: 2, sum: 4 },
      { key: [0, 1, 2, 4, 200, 10], count: 1, sum: 1 },
      { key: [0, 1, 2, 3, 500, 10], count: 1, sum: 3 },
      { key: [2, 1, 2, 3, 7, 1], count: 1, sum: 0 },
    ]);
  });

  test('take empties the table: the next take has only what came after', () => {
    const t = new OutcomeTable();
    t.add(0, 1, 1, 1, 200, 3, 1);
    expect(groups(t.take())).toHaveLength(1);
    expect(t.size).toBe(0);
    expect(t.take().length).toBe(0);
    t.add(0, 1, 1, 1, 200, 3, 2);
    expect(groups(t.take())).toEqual([{ key: [0, 1, 1, 1, 200, 3], count: 1, sum: 2 }]);
  });

  test('growing past its capacity keeps every count: 5,000 keys x 3 outcomes each', () => {
    const t = new OutcomeTable(16);
    for (let round = 0; round < 3; round++) for (let k = 0; k < 5000; k++) t.add(0, k % 7, k % 3, k, 200 + (k % 5), k % 11, 1);
    const g = groups(t.take());
    expect(g).toHaveLength(5000);
    expect(g.every((x) => x.count === 3 && x.sum === 3)).toBe(true);
    expect(g.map((x) => x.key[3])).toEqual(Array.from({ length: 5000 }, (_, k) => k));
  });

  test('a million outcomes of a few kinds stay a few groups', () => {
    const t = new OutcomeTable();
    let total = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const ms = 0.2 + (i % 97) / 50;
      t.add(0, 0, 1, 2 + (i & 1), i % 50 === 0 ? 503 : 200, durationClass(ms), ms);
      total++;
    }
    const g = groups(t.take());
    // 2 backends x 2 statuses x the ~15 classes between 0.2 and 2.1 ms.
    expect(g.length).toBeLessThanOrEqual(2 * 2 * 16);
    expect(g.reduce((a, x) => a + x.count, 0)).toBe(total);
  });
});

describe('durationClass: durations of one class, and their mean, share every histogram bucket', () => {
  const histograms: [string, readonly number[]][] = [
    ['rolling window (ms)', WINDOW_BOUNDS_MS],
    ['turnout_request_duration_seconds', DURATION_BUCKETS.map((s) => s * 1000)],
    ['turnout_hold_wait_seconds', HOLD_WAIT_BUCKETS.map((s) => s * 1000)],
  ];
  // Durations from 1 µs to 100 s, log-spaced, with every bound itself and its neighbours.
  const samples: number[] = [];
  for (let v = 0.001; v < 100_000; v *= 1.013) samples.push(v);
  for (const [, bounds] of histograms) for (const b of bounds) samples.push(b, b * 0.9999, b * 1.0001);
  samples.sort((a, b) => a - b);

  test.each(histograms)('%s', (_name, bounds) => {
    const byClass = new Map<number, number[]>();
    for (const ms of samples) {
      const c = durationClass(ms);
      if (!byClass.has(c)) byClass.set(c, []);
      (byClass.get(c) as number[]).push(ms);
    }
    for (const members of byClass.values()) {
      const bucket = boundIndex(bounds, members[0] as number);
      for (const ms of members) expect(boundIndex(bounds, ms)).toBe(bucket);
      const mean = members.reduce((a, b) => a + b, 0) / members.length;
      expect(boundIndex(bounds, mean)).toBe(bucket);
    }
  });

  test('classes are ordered with the durations', () => {
    for (let i = 1; i < samples.length; i++) expect(durationClass(samples[i] as number)).toBeGreaterThanOrEqual(durationClass(samples[i - 1] as number));
  });
});
