import type { ServiceConfig } from '../config/index.js';
import { HealthChecker, checkExpects, checkName, checkRequest, observe } from '../health/index.js';
import type { CheckState, CheckTarget, ProbeResult } from '../health/index.js';
import type { BackendEntry } from './backends.js';
import type { HealthFacts, RuntimeContext } from './context.js';

/**
 * Active health checks of this process's backends: one checker target per checked, non-draining
 * backend; transitions (never single probes) become events and rebuild the service's table.
 */
export class Checks {
  private readonly checker: HealthChecker;

  constructor(
    private readonly ctx: RuntimeContext,
    random?: () => number,
  ) {
    this.checker = new HealthChecker((key, result) => this.onProbe(key, result), random);
  }

  /** Starts checks for new backends, stops removed ones, restarts those whose settings changed. */
  sync(): void {
    const targets: CheckTarget[] = [];
    for (const e of this.ctx.backends.values()) {
      const hc = e.settings.healthCheck;
      if (hc === undefined || e.record.state === 'draining') continue;
      targets.push({ key: e.key, url: e.record.url, settings: hc, rejectUnauthorized: e.settings.rejectUnauthorized });
    }
    this.checker.sync(targets);
  }

  /**
   * Probes the given backends once before they serve, so a start (or a reload that adds a service
   * or a health check) does not black-hole a service while the first thresholds fill: a first
   * pass counts as healthy (like Envoy's cluster warming). Backends registered later must pass
   * `healthyThreshold` checks.
   */
  async warm(entries: Iterable<BackendEntry>, why: string, settingsOf: (e: BackendEntry) => ServiceConfig = (e) => e.settings): Promise<void> {
    const work: Promise<void>[] = [];
    for (const e of entries) {
      const settings = settingsOf(e);
      const hc = settings.healthCheck;
      if (hc === undefined) continue;
      work.push(
        this.checker.probe({ key: e.key, url: e.record.url, settings: hc, rejectUnauthorized: settings.rejectUnauthorized }).then((r) => {
          e.check = r.passed ? { health: 'healthy', passes: hc.healthyThreshold, fails: 0 } : { health: 'unknown', passes: 0, fails: 1 };
          this.ctx.event(e.service, {
            type: 'health',
            pool: e.pool,
            backend: e.record.id,
            message: `${why} probe: ${checkRequest(hc)} saw ${r.detail} → ${e.check.health}`,
            details: { check: checkName(hc), saw: r.detail },
          });
        }),
      );
    }
    await Promise.all(work);
  }

  private onProbe(key: string, result: ProbeResult): void {
    const e = this.ctx.backends.getByKey(key);
    const hc = e?.settings.healthCheck;
    if (e === undefined || hc === undefined) return;
    const before = e.check.health;
    this.ctx.telemetry?.onHealthCheck(e.service, e.pool, e.record.id, result.passed);
    const { state, changed } = observe(e.check, result.passed, hc);
    e.check = state;
    if (!changed) return;
    const threshold = state.health === 'healthy' ? `${hc.healthyThreshold} passes` : `${hc.unhealthyThreshold} failures`;
    this.ctx.event(e.service, {
      type: 'health',
      pool: e.pool,
      backend: e.record.id,
      message: `${before} → ${state.health}: ${checkRequest(hc)} saw ${result.detail} (${threshold} in a row)`,
      details: { from: before, to: state.health, check: checkName(hc), saw: result.detail, expect: checkExpects(hc) },
    });
    this.ctx.rebuild([e.service]);
  }

  /** A new entry keeps its initial state until its first probes (the supervisor's choice in a worker). */
  adopt(_e: BackendEntry): void {}

  /** Every checked backend's state, by entry key (sent to the workers). */
  facts(): HealthFacts {
    const out: Record<string, CheckState> = {};
    for (const e of this.ctx.backends.values()) if (e.settings.healthCheck !== undefined) out[e.key] = e.check;
    return out;
  }

  close(): Promise<void> {
    return this.checker.close();
  }
}
