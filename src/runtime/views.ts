import { slowStartWeight } from '../balancer/index.js';
import { healthAllows, isEligible } from '../model/index.js';
import type { BackendRecord, Health, LocalFacts, StateSnapshot } from '../model/index.js';
import type { BackendLive, PoolLive, TelemetrySource } from '../telemetry/index.js';
import { factsOf } from './backends.js';
import type { BackendEntry } from './backends.js';
import type { RuntimeContext } from './context.js';

export interface BackendView {
  readonly id: string;
  readonly url: string;
  readonly weight: number;
  readonly effectiveWeight: number;
  readonly state: BackendRecord['state'];
  readonly health: Health;
  readonly ejected: boolean;
  readonly inFlight: number;
  readonly drain?: { readonly startedAt: string; readonly deadline: string; readonly inFlight: number; readonly started: number };
}

/** What the admin API, telemetry and the fleet see of this process's backends. */
export class Views {
  constructor(private readonly ctx: RuntimeContext) {}

  backend(service: string, id: string): BackendView | undefined {
    const e = this.ctx.backends.get(service, id);
    return e === undefined ? undefined : this.of(e);
  }

  /** View of a stored backend record, with local facts when this instance knows it. */
  ofRecord(service: string, record: BackendRecord): BackendView {
    const e = this.ctx.backends.get(service, record.id);
    if (e !== undefined && e.record === record) return this.of(e);
    const checked = this.ctx.settings(service)?.healthCheck !== undefined;
    return {
      id: record.id,
      url: record.url,
      weight: record.weight,
      effectiveWeight: 0,
      state: record.state,
      health: checked ? (e?.check.health ?? 'unknown') : 'unknown',
      ejected: false,
      inFlight: e === undefined ? 0 : this.ctx.inFlightOf(e),
    };
  }

  /** Local facts of a backend (unknown and not ejected when this instance does not know it). */
  local(service: string, id: string): LocalFacts {
    const e = this.ctx.backends.get(service, id);
    const checked = this.ctx.settings(service)?.healthCheck !== undefined;
    if (e === undefined) return { health: 'unknown', checked, ejected: false };
    const facts = factsOf(e, this.ctx.now());
    return { ...facts, ejected: facts.ejected || this.ctx.ejectedElsewhere(e), checked };
  }

  of(e: BackendEntry): BackendView {
    const now = this.ctx.now();
    const rec = e.record;
    const own = factsOf(e, now);
    const facts = own.ejected || !this.ctx.ejectedElsewhere(e) ? own : { ...own, ejected: true };
    const inFlight = this.ctx.inFlightOf(e);
    const effectiveWeight = !isEligible(facts)
      ? 0
      : e.eligibleSince === undefined
        ? rec.weight
        : Math.round(slowStartWeight(rec.weight, e.eligibleSince, now, e.settings.slowStartMs) * 100) / 100;
    return {
      id: rec.id,
      url: rec.url,
      weight: rec.weight,
      effectiveWeight,
      state: rec.state,
      health: e.check.health,
      ejected: facts.ejected,
      inFlight,
      ...(rec.state === 'draining' && rec.drain !== undefined
        ? {
            drain: {
              startedAt: rec.drain.startedAt,
              deadline: new Date(rec.drain.deadlineMs).toISOString(),
              inFlight,
              started: e.upstream.started,
            },
          }
        : {}),
    };
  }

  /** TelemetrySource: every served service with its split and live backend views. */
  forEachService(state: StateSnapshot | undefined, cb: Parameters<TelemetrySource['forEachService']>[0]): void {
    if (state === undefined) return;
    for (const [name, svc] of Object.entries(state.services)) {
      if (this.ctx.settings(name) === undefined) continue;
      const pools: PoolLive[] = [];
      for (const [poolName, pool] of Object.entries(svc.pools)) {
        const backends: BackendLive[] = [];
        for (const rec of pool.backends) {
          const e = this.ctx.backends.get(name, rec.id);
          if (e === undefined) continue;
          const v = this.of(e);
          backends.push({ ...v, healthOk: healthAllows(v.health, e.settings.healthCheck !== undefined), key: e.upstream });
        }
        pools.push({ name: poolName, backends });
      }
      cb(name, svc.split, pools, svc.mirror);
    }
  }

  /**
   * In-flight on this instance's backends that have any, keyed `service/id` (reported to the fleet
   * so an instance deciding to remove a drained backend knows what the others still serve; counts
   * of backends not yet draining are included because a drain may start between two reports).
   */
  drainingInFlight(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.ctx.backends.values()) {
      const n = this.ctx.inFlightOf(e);
      if (n > 0 || e.record.state === 'draining') out[`${e.service}/${e.record.id}`] = n;
    }
    return out;
  }

  /** In-flight requests and upgrades on the given pools of a service. */
  poolsInFlight(service: string, pools: readonly string[]): number {
    let n = 0;
    for (const e of this.ctx.backends.values()) if (e.service === service && pools.includes(e.pool)) n += this.ctx.inFlightOf(e);
    return n;
  }
}
