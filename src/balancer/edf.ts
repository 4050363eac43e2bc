/**
 * Weighted round robin as earliest-deadline-first over a binary heap (as Traefik's WRR): each
 * candidate's next deadline is `deadline + 1 / weight`; a pick pops the earliest. Picks cost
 * O(log n) and interleave evenly. Weights may be fractional (slow start ramps them).
 * Candidates with weight <= 0 are left out at construction; the policy owns only its cursor.
 */
interface Entry<T> {
  readonly item: T;
  readonly step: number; // 1 / weight
  deadline: number;
  readonly seq: number; // tie-break: declaration order
}

export class EdfBalancer<T> {
  private readonly heap: Entry<T>[] = [];
  readonly size: number;

  constructor(candidates: readonly T[], weightOf: (item: T) => number) {
    let seq = 0;
    for (const item of candidates) {
      const w = weightOf(item);
      if (!(w > 0)) continue;
      const step = 1 / w;
      // Start half a period in, so a light candidate is not pushed to the end of the first round.
      this.heap.push({ item, step, deadline: step / 2, seq: seq++ });
    }
    this.size = this.heap.length;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** The next candidate, or undefined when there is none. */
  pick(): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    top.deadline += top.step;
    this.down(0);
    return top.item;
  }

  /**
   * The next candidate other than `avoid` (for a retry), or undefined when it is the only one.
   * Looks past `avoid` rather than popping it again: popping `size` times gave up on a light
   * candidate behind a heavy one (weights 1000 and 1 never reached the 1).
   */
  pickOther(avoid: T): T | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    if (top.item !== avoid) return this.pick();
    // With the root set aside, the earliest deadline is one of its children.
    const l = h[1];
    if (l === undefined) return undefined;
    const r = h[2];
    const i = r !== undefined && this.less(r, l) ? 2 : 1;
    const e = h[i] as Entry<T>;
    e.deadline += e.step;
    this.down(i);
    return e.item;
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
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
      if (r < n && this.less(h[r] as Entry<T>, h[l] as Entry<T>)) m = r;
      if (!this.less(h[m] as Entry<T>, h[i] as Entry<T>)) return;
      const t = h[i] as Entry<T>;
      h[i] = h[m] as Entry<T>;
      h[m] = t;
      i = m;
    }
  }
}
