import { windowStartOf } from '../model/index.js';
import type { PoolReading, RolloutRecord } from '../model/index.js';
import type { StateStore } from '../store/index.js';
import type { Telemetry } from '../telemetry/index.js';
import type { MirrorPort } from './ports.js';

interface Base {
  readonly key: string;
  readonly canary: { readonly requests: number; readonly errors: number };
  readonly stable: { readonly requests: number; readonly errors: number };
}

/**
 * The counts of the canary and the stable pool over the current check window (since the last
 * judged check, or the step's start): this instance's, plus the fleet's reports.
 */
export class CheckWindows {
  private readonly bases = new Map<string, Base>();

  constructor(
    private readonly telemetry: Telemetry,
    private readonly store: StateStore,
    private readonly now: () => number,
    private readonly mirror: MirrorPort,
  ) {}

  read(service: string, r: RolloutRecord): { readonly canary: PoolReading; readonly stable: PoolReading } {
    const from = windowStartOf(r);
    const key = `${r.id}:${r.stepIndex}:${from}`;
    // Mirror first: the canary's answers are the copies'.
    const mirrored = r.mirroring === true ? this.mirror : undefined;
    const canary = mirrored !== undefined ? { ...mirrored.totals(service, r.pool), p99Ms: 0 } : this.totals(service, r.pool);
    const stable = this.totals(service, r.stablePool);
    let base = this.bases.get(service);
    if (base === undefined || base.key !== key) {
      base = { key, canary, stable };
      this.bases.set(service, base);
    }
    const now = this.now();
    const seconds = Math.max(1, Math.min(60, Math.ceil((now - from) / 1000)));
    const of = (t: typeof canary, b: Base['canary'], p99Ms: number): PoolReading => ({
      requests: t.requests - b.requests,
      errors: t.errors - b.errors,
      p99Ms: Math.max(p99Ms, t.p99Ms),
    });
    const canaryP99 = mirrored !== undefined ? mirrored.p99Ms(service, r.pool, now, seconds) : this.telemetry.poolWindow(service, r.pool, now, seconds).p99Ms;
    return {
      canary: of(canary, base.canary, canaryP99),
      stable: of(stable, base.stable, this.telemetry.poolWindow(service, r.stablePool, now, seconds).p99Ms),
    };
  }

  forget(service: string): void {
    this.bases.delete(service);
  }

  private totals(service: string, pool: string): { requests: number; errors: number; p99Ms: number } {
    const local = this.telemetry.poolTotals(service, pool);
    const fleet = this.store.fleet.othersPoolTotals(`${service}/${pool}`);
    return { requests: local.requests + fleet.requests, errors: local.errors + fleet.errors, p99Ms: fleet.p99Ms };
  }
}
