import { describe, expect, test } from 'vitest';
import { RollingWindow } from '../../src/telemetry/window.js';

describe('rolling window', () => {
  test('counts, error rate and rps over the last seconds; old seconds fall out', () => {
    const w = new RollingWindow(10);
    for (let i = 0; i < 100; i++) w.record(1_000 + i * 10, 5, i % 10 === 0); // second 1: 100 requests, 10 errors
    for (let i = 0; i < 50; i++) w.record(2_000 + i * 10, 5, false); // second 2: 50 requests
    const s = w.summary(2_500, 2);
    expect(s.requests).toBe(150);
    expect(s.errors).toBe(10);
    expect(s.rps).toBe(75);
    expect(s.errorRate).toBeCloseTo(10 / 150, 10);
    expect(w.summary(2_500, 1).requests).toBe(50);
    // 20 s later the ring slots were reused or are stale: nothing counts.
    expect(w.summary(22_500, 10).requests).toBe(0);
    w.record(11_000, 5, false); // second 11 reuses the slot of second 1
    expect(w.summary(11_500, 10).requests).toBe(1 + 50);
  });

  test('quantiles come from the histogram, within a bucket (about 19 %) of the truth', () => {
    const w = new RollingWindow(5);
    for (let i = 1; i <= 1000; i++) w.record(5_000, i / 10, false); // 0.1 .. 100 ms uniform
    const s = w.summary(5_000, 1);
    expect(s.p50Ms).toBeGreaterThanOrEqual(50);
    expect(s.p50Ms).toBeLessThan(50 * 1.2);
    expect(s.p99Ms).toBeGreaterThanOrEqual(99);
    expect(s.p99Ms).toBeLessThan(99 * 1.2);
  });

  test('empty window', () => {
    expect(new RollingWindow(5).summary(0, 5)).toEqual({ requests: 0, errors: 0, rps: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 });
  });
});
