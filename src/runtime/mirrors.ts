import type { ServiceConfig } from '../config/index.js';
import type { MirrorRecord } from '../model/index.js';
import { MirrorPool } from '../proxy/index.js';
import type { MirrorBackend, MirrorDropReason, MirrorObserver, MirrorTable } from '../proxy/index.js';
import type { RuntimeContext } from './context.js';

/**
 * Every service's MirrorPool (what outlives a table: copies in flight, the mirrored backends' own
 * connections), made when a service gets a mirror and closed when it loses it; and the
 * observer that sends copies' outcomes to telemetry.
 */
export class Mirrors implements MirrorObserver {
  private readonly pools = new Map<string, MirrorPool>();

  constructor(private readonly ctx: RuntimeContext) {}

  /** The mirror of `service`'s next table: undefined (and its pool closed) when it has none. */
  table(service: string, record: MirrorRecord | undefined, settings: ServiceConfig, backends: readonly MirrorBackend[]): MirrorTable | undefined {
    let pool = this.pools.get(service);
    if (record === undefined) {
      if (pool !== undefined) this.stop(service, pool);
      return undefined;
    }
    if (pool !== undefined && pool.pool !== record.pool) {
      // Another pool: the copies out to the old one are cut, its connections closed.
      this.stop(service, pool);
      pool = undefined;
    }
    if (pool === undefined) {
      pool = new MirrorPool(service, this);
      this.pools.set(service, pool);
    }
    return pool.compile(record, settings, backends);
  }

  /** Services left the table: their mirrors stop. */
  keepOnly(services: ReadonlySet<string>): void {
    for (const [service, pool] of this.pools) if (!services.has(service)) this.stop(service, pool);
  }

  /** Copies of `service` out now (the live views). */
  inFlight(service: string): number {
    return this.pools.get(service)?.inFlight ?? 0;
  }

  onMirrorAnswer(service: string, pool: string, backendId: string, status: number, durationMs: number): void {
    this.ctx.telemetry?.onMirrorAnswer(service, pool, backendId, status, durationMs);
  }

  onMirrorDropped(service: string, pool: string, reason: MirrorDropReason): void {
    this.ctx.telemetry?.onMirrorDropped(service, pool, reason);
  }

  close(): void {
    for (const [service, pool] of this.pools) this.stop(service, pool);
  }

  private stop(service: string, pool: MirrorPool): void {
    pool.close();
    this.pools.delete(service);
  }
}
