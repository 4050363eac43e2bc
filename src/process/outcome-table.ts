/**
 * A worker's outcomes grouped between two reports: outcomes with the same six key numbers (op,
 * service, pool, backend, a, x: names as string-table indexes, x a duration class or a flag) add to
 * one group's count and value sum. So a report carries a group per kind of answer seen in the last
 * 250 ms (a few dozen under any load) instead of a record per request, and the supervisor's work per
 * report does not grow with the traffic. Open addressing over typed arrays: adding does no
 * allocation once the table has grown to the traffic's variety. Pure: no I/O, no time.
 */

/** Numbers per group in what take() returns: op, service, pool, backend, a, x, count, sum. */
export const GROUP_SIZE = 8;
const KEY = 6;

export class OutcomeTable {
  private cap: number;
  private keys: Float64Array;
  private counts: Float64Array;
  private sums: Float64Array;
  private full: Uint8Array;
  /** Slots in use, in the order their groups began. */
  private order: Int32Array;
  private n = 0;

  constructor(initialCapacity = 256) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.cap = cap;
    this.keys = new Float64Array(cap * KEY);
    this.counts = new Float64Array(cap);
    this.sums = new Float64Array(cap);
    this.full = new Uint8Array(cap);
    this.order = new Int32Array(cap);
  }

  /** Groups since the last take. */
  get size(): number {
    return this.n;
  }

  /** One outcome: `value` (a duration in ms, or 0) adds to its group's sum. */
  add(op: number, service: number, pool: number, backend: number, a: number, x: number, value: number): void {
    if (this.n * 2 >= this.cap) this.grow();
    const slot = this.find(op, service, pool, backend, a, x);
    if (this.full[slot] === 0) {
      this.full[slot] = 1;
      const k = slot * KEY;
      const keys = this.keys;
      keys[k] = op;
      keys[k + 1] = service;
      keys[k + 2] = pool;
      keys[k + 3] = backend;
      keys[k + 4] = a;
      keys[k + 5] = x;
      this.order[this.n++] = slot;
    }
    this.counts[slot] = (this.counts[slot] as number) + 1;
    this.sums[slot] = (this.sums[slot] as number) + value;
  }

  /** The groups since the last take (GROUP_SIZE numbers each, in the order they began); the table empties. */
  take(): Float64Array {
    const out = new Float64Array(this.n * GROUP_SIZE);
    for (let i = 0; i < this.n; i++) {
      const slot = this.order[i] as number;
      const o = i * GROUP_SIZE;
      for (let f = 0; f < KEY; f++) out[o + f] = this.keys[slot * KEY + f] as number;
      out[o + 6] = this.counts[slot] as number;
      out[o + 7] = this.sums[slot] as number;
      this.full[slot] = 0;
      this.counts[slot] = 0;
      this.sums[slot] = 0;
    }
    this.n = 0;
    return out;
  }

  /** The slot holding this key, or the empty slot where it goes. */
  private find(op: number, service: number, pool: number, backend: number, a: number, x: number): number {
    let h = Math.imul(op + 1, 0x9e3779b1);
    h = Math.imul(h ^ service, 0x85ebca6b);
    h = Math.imul(h ^ pool, 0xc2b2ae35);
    h = Math.imul(h ^ backend, 0x27d4eb2f);
    h = Math.imul(h ^ (a | 0), 0x165667b1);
    h = Math.imul(h ^ (x | 0), 0x9e3779b1);
    h ^= h >>> 15;
    const mask = this.cap - 1;
    const keys = this.keys;
    let slot = h & mask;
    for (;;) {
      if (this.full[slot] === 0) return slot;
      const k = slot * KEY;
      if (keys[k] === op && keys[k + 1] === service && keys[k + 2] === pool && keys[k + 3] === backend && keys[k + 4] === a && keys[k + 5] === x) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /** Twice the slots, the groups moved to theirs (their order kept). */
  private grow(): void {
    const old = { keys: this.keys, counts: this.counts, sums: this.sums, order: this.order.slice(0, this.n), n: this.n };
    this.cap *= 2;
    this.keys = new Float64Array(this.cap * KEY);
    this.counts = new Float64Array(this.cap);
    this.sums = new Float64Array(this.cap);
    this.full = new Uint8Array(this.cap);
    this.order = new Int32Array(this.cap);
    this.n = 0;
    for (let i = 0; i < old.n; i++) {
      const s = old.order[i] as number;
      const k = s * KEY;
      const slot = this.find(old.keys[k] as number, old.keys[k + 1] as number, old.keys[k + 2] as number, old.keys[k + 3] as number, old.keys[k + 4] as number, old.keys[k + 5] as number);
      for (let f = 0; f < KEY; f++) this.keys[slot * KEY + f] = old.keys[k + f] as number;
      this.full[slot] = 1;
      this.counts[slot] = old.counts[s] as number;
      this.sums[slot] = old.sums[s] as number;
      this.order[this.n++] = slot;
    }
  }
}
