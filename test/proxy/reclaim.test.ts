import { describe, expect, test } from 'vitest';
import { BufferReclaimer } from '../../src/proxy/reclaim.js';
import type { GcFunction } from '../../src/proxy/reclaim.js';

/*
 * The reclaimer asks V8 for a young-generation collection every `threshold` bytes of garbage
 * Buffers (issue 17: dead client read buffers are malloc'd memory until collected). The counting
 * rule, with a collector that records its calls.
 */

function recorder(): { gc: GcFunction; calls: unknown[] } {
  const calls: unknown[] = [];
  return { gc: (options) => void calls.push(options), calls };
}

describe('BufferReclaimer', () => {
  const cases: { name: string; threshold: number; adds: number[]; collections: number }[] = [
    { name: 'below the threshold: nothing', threshold: 10, adds: [3, 3, 3], collections: 0 },
    { name: 'reaching it: one', threshold: 10, adds: [3, 3, 3, 1], collections: 1 },
    { name: 'one add of exactly the threshold', threshold: 10, adds: [10], collections: 1 },
    { name: 'one add far over it: one, not one per threshold', threshold: 10, adds: [35], collections: 1 },
    { name: 'the count starts again after each', threshold: 10, adds: [5, 5, 5, 5, 5], collections: 2 },
    { name: 'what went over is not carried', threshold: 10, adds: [9, 9, 9], collections: 1 },
    { name: 'empty reads count nothing', threshold: 10, adds: [0, 0, 0, 9], collections: 0 },
  ];
  test.each(cases)('$name', ({ threshold, adds, collections }) => {
    const { gc, calls } = recorder();
    const r = new BufferReclaimer(threshold, gc);
    for (const n of adds) r.add(n);
    expect(calls).toHaveLength(collections);
    for (const c of calls) expect(c).toEqual({ type: 'minor' });
  });

  test('a runtime without a gc function: counting goes on, nothing is called', () => {
    const r = new BufferReclaimer(10, null);
    for (let i = 0; i < 5; i++) expect(() => r.add(10)).not.toThrow();
  });
});
