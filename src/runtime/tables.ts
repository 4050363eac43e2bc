import { inSlowStart, slowStartWeight } from '../balancer/index.js';
import type { ServiceConfig } from '../config/index.js';
import type { ServiceRecord, StateSnapshot } from '../model/index.js';
import { buildServiceTable, EMPTY_TABLE, RoutingTable } from '../proxy/index.js';
import type { ServiceTable, Upstream } from '../proxy/index.js';
import { entryEligible } from './backends.js';
import type { RuntimeContext } from './context.js';
import { Mirrors } from './mirrors.js';

interface Compiled {
  readonly record: ServiceRecord;
  readonly settings: ServiceConfig;
  readonly table: ServiceTable;
  readonly ramping: boolean;
}

/**
 * Compiles stored state, settings and local facts into the RoutingTable the proxy reads, and swaps
 * it in as one reference. Services whose record and settings did not change keep their table; a
 * timer rebuilds the services whose backends ramp through slow start.
 */
export class TableCompiler {
  current: RoutingTable = EMPTY_TABLE;
  /** Until warm-up ends, backends that become eligible skip slow start: the whole table starts together. */
  starting = true;
  private readonly tables = new Map<string, Compiled>();
  /** Each service's mirror across tables (copies in flight, the mirrored backends' connections). */
  readonly mirrors: Mirrors;
  private slowStartTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly ctx: RuntimeContext) {
    this.mirrors = new Mirrors(ctx);
  }

  /** Rebuilds from `state`; only the `dirty` services (all when undefined) are compiled again. */
  rebuild(state: StateSnapshot, dirty: ReadonlySet<string> | undefined): void {
    const now = this.ctx.now();
    const out = new Map<string, ServiceTable>();
    for (const [name, svc] of Object.entries(state.services)) {
      const settings = this.ctx.settings(name);
      if (settings === undefined) continue;
      const cached = this.tables.get(name);
      if (cached !== undefined && cached.record === svc && cached.settings === settings && dirty !== undefined && !dirty.has(name)) {
        out.set(name, cached.table);
        continue;
      }
      let ramping = false;
      const pools: { name: string; eligible: { upstream: Upstream; weight: number }[] }[] = [];
      const mirrored: { id: string; url: string; weight: number }[] = [];
      for (const [poolName, pool] of Object.entries(svc.pools)) {
        const eligible: { upstream: Upstream; weight: number }[] = [];
        for (const rec of pool.backends) {
          const e = this.ctx.backends.get(name, rec.id);
          if (e === undefined) continue;
          if (!entryEligible(e, now)) {
            e.eligibleSince = undefined;
            continue;
          }
          e.eligibleSince ??= this.starting ? now - settings.slowStartMs : now;
          const weight = slowStartWeight(rec.weight, e.eligibleSince, now, settings.slowStartMs);
          if (inSlowStart(e.eligibleSince, now, settings.slowStartMs)) ramping = true;
          eligible.push({ upstream: e.upstream, weight });
          if (poolName === svc.mirror?.pool) mirrored.push({ id: rec.id, url: rec.url, weight });
        }
        pools.push({ name: poolName, eligible });
      }
      const mirror = this.mirrors.table(name, svc.mirror, settings, mirrored);
      const table = buildServiceTable({ settings, split: svc.split, pools, start: this.ctx.balancerStart(), mirror });
      this.tables.set(name, { record: svc, settings, table, ramping });
      out.set(name, table);
    }
    for (const name of [...this.tables.keys()]) if (!out.has(name)) this.tables.delete(name);
    this.mirrors.keepOnly(new Set(out.keys()));
    this.current = new RoutingTable(state.revision, out);
    if ([...this.tables.values()].some((t) => t.ramping)) this.scheduleSlowStartTick();
  }

  private scheduleSlowStartTick(): void {
    if (this.slowStartTimer !== undefined || this.closed) return;
    let step = 1000;
    for (const t of this.tables.values()) if (t.settings.slowStartMs > 0) step = Math.min(step, Math.max(50, t.settings.slowStartMs / 20));
    this.slowStartTimer = setTimeout(() => {
      this.slowStartTimer = undefined;
      const ramping: string[] = [];
      for (const [name, t] of this.tables) if (t.ramping) ramping.push(name);
      this.ctx.rebuild(ramping);
    }, step);
    this.slowStartTimer.unref();
  }

  close(): void {
    this.closed = true;
    this.mirrors.close();
    if (this.slowStartTimer !== undefined) clearTimeout(this.slowStartTimer);
  }
}
