import { describe, expect, test } from 'vitest';
import { seeded } from '../helpers/seeded.js';
import { HoldQueue } from '../../src/proxy/hold.js';

/** One step on a queue: what it does and what it answers. */
type Op =
  | { op: 'push'; item: string }
  | { op: 'unshift'; item: string }
  | { op: 'remove'; item: string; removed: boolean }
  | { op: 'shift'; got: string | undefined }
  | { op: 'peek'; got: string | undefined };

function apply(q: HoldQueue<string>, step: Op): unknown {
  switch (step.op) {
    case 'push':
      return q.push(step.item);
    case 'unshift':
      return q.unshift(step.item);
    case 'remove':
      return q.remove(step.item);
    case 'shift':
      return q.shift();
    case 'peek':
      return q.peek();
  }
}

/** Everything still waiting, oldest first (drains the queue). */
function drain(q: HoldQueue<string>): string[] {
  const out: string[] = [];
  for (let item = q.shift(); item !== undefined; item = q.shift()) out.push(item);
  return out;
}

const cases: { name: string; steps: Op[]; size: number; rest: string[] }[] = [
  { name: 'empty: peek and shift answer undefined', steps: [{ op: 'peek', got: undefined }, { op: 'shift', got: undefined }], size: 0, rest: [] },
  {
    name: 'first in, first out',
    steps: [{ op: 'push', item: 'a' }, { op: 'push', item: 'b' }, { op: 'push', item: 'c' }, { op: 'peek', got: 'a' }, { op: 'shift', got: 'a' }, { op: 'peek', got: 'b' }],
    size: 2,
    rest: ['b', 'c'],
  },
  {
    name: 'unshift puts a returning request first',
    steps: [{ op: 'push', item: 'a' }, { op: 'push', item: 'b' }, { op: 'shift', got: 'a' }, { op: 'unshift', item: 'a' }, { op: 'peek', got: 'a' }],
    size: 2,
    rest: ['a', 'b'],
  },
  {
    name: 'unshift on an empty queue',
    steps: [{ op: 'unshift', item: 'a' }, { op: 'push', item: 'b' }],
    size: 2,
    rest: ['a', 'b'],
  },
  {
    name: 'unshift after several shifts reuses the freed head',
    steps: [
      { op: 'push', item: 'a' },
      { op: 'push', item: 'b' },
      { op: 'push', item: 'c' },
      { op: 'shift', got: 'a' },
      { op: 'shift', got: 'b' },
      { op: 'unshift', item: 'b' },
      { op: 'unshift', item: 'a' },
    ],
    size: 3,
    rest: ['a', 'b', 'c'],
  },
  {
    name: 'remove from the middle',
    steps: [{ op: 'push', item: 'a' }, { op: 'push', item: 'b' }, { op: 'push', item: 'c' }, { op: 'remove', item: 'b', removed: true }],
    size: 2,
    rest: ['a', 'c'],
  },
  {
    name: 'remove of something not waiting answers false and changes nothing',
    steps: [{ op: 'push', item: 'a' }, { op: 'remove', item: 'x', removed: false }, { op: 'shift', got: 'a' }, { op: 'remove', item: 'a', removed: false }],
    size: 0,
    rest: [],
  },
  {
    name: 'peek and shift step over removed holes at the head',
    steps: [
      { op: 'push', item: 'a' },
      { op: 'push', item: 'b' },
      { op: 'push', item: 'c' },
      { op: 'push', item: 'd' },
      { op: 'remove', item: 'a', removed: true },
      { op: 'remove', item: 'b', removed: true },
      { op: 'peek', got: 'c' },
      { op: 'shift', got: 'c' },
    ],
    size: 1,
    rest: ['d'],
  },
  {
    name: 'removing the last one empties it; it works again afterwards',
    steps: [{ op: 'push', item: 'a' }, { op: 'remove', item: 'a', removed: true }, { op: 'peek', got: undefined }, { op: 'push', item: 'b' }, { op: 'peek', got: 'b' }],
    size: 1,
    rest: ['b'],
  },
  {
    name: 'a returning request goes before one that was removed behind it',
    steps: [{ op: 'push', item: 'a' }, { op: 'push', item: 'b' }, { op: 'push', item: 'c' }, { op: 'shift', got: 'a' }, { op: 'remove', item: 'b', removed: true }, { op: 'unshift', item: 'a' }],
    size: 2,
    rest: ['a', 'c'],
  },
];

describe('HoldQueue', () => {
  test.each(cases)('$name', ({ steps, size, rest }) => {
    const q = new HoldQueue<string>();
    for (const [i, step] of steps.entries()) {
      const got = apply(q, step);
      if (step.op === 'shift' || step.op === 'peek') expect(got, `step ${i} ${step.op}`).toBe(step.got);
      if (step.op === 'remove') expect(got, `step ${i} remove ${step.item}`).toBe(step.removed);
    }
    expect(q.size).toBe(size);
    expect(drain(q)).toEqual(rest);
    expect(q.size).toBe(0);
  });


  test.each([1, 2, 3, 42, 2026])('20 000 random operations (seed %i) agree with a plain array', (seed) => {
    const random = seeded(seed);
    const q = new HoldQueue<string>();
    const model: string[] = [];
    // Shifted items come back with unshift, as a request that was tried and failed does.
    const returning: string[] = [];
    let next = 0;
    let maxSize = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = random();
      if (r < 0.35) {
        const item = `r${next++}`;
        q.push(item);
        model.push(item);
      } else if (r < 0.55) {
        const got = q.shift();
        expect(got, `op ${i} shift`).toBe(model.shift());
        if (got !== undefined && random() < 0.5) returning.push(got);
      } else if (r < 0.65) {
        const item = returning.pop();
        if (item !== undefined) {
          q.unshift(item);
          model.unshift(item);
        }
      } else if (r < 0.85) {
        // Remove something waiting (anywhere), or sometimes something that is not.
        const pick = model.length > 0 && random() < 0.9 ? model[Math.floor(random() * model.length)] : `gone${i}`;
        const at = model.indexOf(pick as string);
        expect(q.remove(pick as string), `op ${i} remove ${pick}`).toBe(at >= 0);
        if (at >= 0) model.splice(at, 1);
      } else {
        expect(q.peek(), `op ${i} peek`).toBe(model[0]);
      }
      expect(q.size, `op ${i} size`).toBe(model.length);
      maxSize = Math.max(maxSize, model.length);
    }
    // The sequence must have grown the queue past the compaction threshold (64) to cover it.
    expect(maxSize).toBeGreaterThan(100);
    expect(drain(q)).toEqual(model);
  });

  test('long FIFO runs compact without losing order (head past 64)', () => {
    const q = new HoldQueue<number>();
    const model: number[] = [];
    let n = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) {
        q.push(n);
        model.push(n++);
      }
      for (let i = 0; i < 90; i++) expect(q.shift()).toBe(model.shift());
      expect(q.size).toBe(model.length);
    }
    expect(q.peek()).toBe(model[0]);
    const rest: number[] = [];
    for (let x = q.shift(); x !== undefined; x = q.shift()) rest.push(x);
    expect(rest).toEqual(model);
  });
});
