/** Values per service and pool, found without building a key string (the hot path records here). */
export class ByPool<T> {
  private readonly services = new Map<string, Map<string, T>>();

  constructor(private readonly create: () => T) {}

  get(service: string, pool: string): T | undefined {
    return this.services.get(service)?.get(pool);
  }

  /** The pool's value, created on first use. */
  at(service: string, pool: string): T {
    let pools = this.services.get(service);
    if (pools === undefined) {
      pools = new Map();
      this.services.set(service, pools);
    }
    let v = pools.get(pool);
    if (v === undefined) {
      v = this.create();
      pools.set(pool, v);
    }
    return v;
  }

  *entries(): IterableIterator<[service: string, pool: string, value: T]> {
    for (const [service, pools] of this.services) for (const [pool, v] of pools) yield [service, pool, v];
  }
}
