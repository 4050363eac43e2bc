/**
 * Picks a pool by split. Built once per routing table from the shares of the pools that can serve
 * (the others' share spills to them); a pick is one random number and a scan of at most 8 pools.
 */
export interface PoolShare<P> {
  readonly pool: P;
  /** Basis points (100 % = 10000); may be 0. */
  readonly share: number;
  /** The pool has at least one eligible backend. */
  readonly available: boolean;
}

export class SplitPicker<P> {
  private readonly pools: P[] = [];
  private readonly cumulative: number[] = [];
  private readonly total: number;

  /**
   * `failoverAny`: when no pool with a share can serve, pools without a share that can serve take
   * the traffic equally.
   */
  constructor(shares: readonly PoolShare<P>[], failoverAny: boolean) {
    let total = 0;
    for (const s of shares) {
      if (s.available && s.share > 0) {
        total += s.share;
        this.pools.push(s.pool);
        this.cumulative.push(total);
      }
    }
    if (total === 0 && failoverAny) {
      for (const s of shares) {
        if (s.available) {
          total += 1;
          this.pools.push(s.pool);
          this.cumulative.push(total);
        }
      }
    }
    this.total = total;
  }

  get empty(): boolean {
    return this.total === 0;
  }

  /** `random` in [0, 1). Undefined when no pool can serve. */
  pick(random: number): P | undefined {
    if (this.total === 0) return undefined;
    const x = random * this.total;
    const c = this.cumulative;
    for (let i = 0; i < c.length; i++) if (x < (c[i] as number)) return this.pools[i];
    return this.pools[this.pools.length - 1];
  }

  /** Pools that take traffic, in order (for retries across pools). */
  get order(): readonly P[] {
    return this.pools;
  }
}
