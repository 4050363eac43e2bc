/**
 * Weighted round robin as earliest-deadline-first (as Traefik's WRR) over *weight classes*:
 * backends of equal weight form one class, served round robin; the classes are ordered on a binary
 * heap by their next deadline, `deadline += 1 / (weight × members)`. Every backend gets exactly its
 * weight's share with even interleaving, and a pick costs O(log k) for k distinct weights, which
 * real pools keep small (1..10), so 1,000 backends cost about what 10 do.
 * Weights may be fractional (slow start ramps them). Weight <= 0 is left out at construction; the
 * policy owns only its cursors.
 */
interface WeightClass<T> {
  readonly items: T[];
  cursor: number;
  /** 1 / (weight × items.length), fixed once built. */
  step: number;
  deadline: number;
  readonly seq: number; // tie-break: first declared
}

export class EdfBalancer<T> {
  private readonly heap: WeightClass<T>[] = [];
  readonly size: number;

  /** `start`: where each weight class's round robin begins (its index modulo the class size; default the first). */
  constructor(candidates: readonly T[], weightOf: (item: T) => number, start = 0) {
    const byWeight = new Map<number, WeightClass<T>>();
    let size = 0;
    for (const item of candidates) {
      const w = weightOf(item);
      if (!(w > 0)) continue;
      size++;
      let c = byWeight.get(w);
      if (c === undefined) {
        c = { items: [], cursor: 0, step: 0, deadline: 0, seq: byWeight.size };
        byWeight.set(w, c);
        this.heap.push(c);
      }
      c.items.push(item);
    }
    for (const [w, c] of byWeight) {
      c.step = 1 / (w * c.items.length);
      c.cursor = start % c.items.length;
      // Start half a period in, so a light class is not pushed to the end of the first round.
      c.deadline = c.step / 2;
    }
    this.size = size;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** The next candidate, or undefined when there is none. */
  pick(): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const item = top.items[top.cursor] as T;
    top.cursor = top.cursor + 1 === top.items.length ? 0 : top.cursor + 1;
    top.deadline += top.step;
    this.down(0);
    return item;
  }

  /**
   * The next candidate other than `avoid` (for a retry), or undefined when it is the only one.
   * Looks past `avoid` rather than popping it again, so a light candidate behind a heavy one is
   * still reached (weights 1000 and 1); `avoid` keeps its turn.
   */
  pickOther(avoid: T): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    if (top.items[top.cursor] !== avoid) return this.pick();
    const n = top.items.length;
    if (n > 1) {
      const item = top.items[(top.cursor + 1) % n] as T;
      top.cursor = (top.cursor + 2) % n;
      top.deadline += top.step;
      this.down(0);
      return item;
    }
    // A class of one: the earliest other class is one of the root's children.
    const h = this.heap;
    const l = h[1];
    if (l === undefined) return undefined;
    const r = h[2];
    const i = r !== undefined && this.less(r, l) ? 2 : 1;
    const c = h[i] as WeightClass<T>;
    const item = c.items[c.cursor] as T;
    c.cursor = c.cursor + 1 === c.items.length ? 0 : c.cursor + 1;
    c.deadline += c.step;
    this.down(i);
    return item;
  }

  private less(a: WeightClass<T>, b: WeightClass<T>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      let m = l;
      if (r < n && this.less(h[r] as WeightClass<T>, h[l] as WeightClass<T>)) m = r;
      if (!this.less(h[m] as WeightClass<T>, h[i] as WeightClass<T>)) return;
      const t = h[i] as WeightClass<T>;
      h[i] = h[m] as WeightClass<T>;
      h[m] = t;
      i = m;
    }
  }
}
