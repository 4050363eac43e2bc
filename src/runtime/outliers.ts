import { isEjected, maxEjected, onReturn, recordOutcome } from '../health/index.js';
import type { BackendEntry } from './backends.js';
import type { RuntimeContext } from './context.js';

/**
 * Passive outlier detection over proxied outcomes: counts failures per backend (pure counters in
 * `health`), ejects within `maxEjectedPercent` of the pool, and brings the backend back when its
 * ejection time is over. Every ejection and return rebuilds the service's table.
 */
export class Outliers {
  constructor(private readonly ctx: RuntimeContext) {}

  /** One outcome of a request on `e`; kept allocation-free for a success on a clean backend. */
  record(e: BackendEntry, ok: boolean, reason: string): void {
    const settings = e.settings.outlier;
    if (settings === undefined) return;
    if (ok && e.outlier.consecutiveFailures === 0 && e.outlier.ejections === 0) return; // the common case
    const now = this.ctx.now();
    let mayEject = false;
    if (!ok) {
      let size = 0;
      let ejected = 0;
      for (const other of this.ctx.backends.values()) {
        if (other.service !== e.service || other.pool !== e.pool || other.record.state !== 'active') continue;
        size++;
        if (isEjected(other.outlier, now)) ejected++;
      }
      mayEject = ejected + 1 <= maxEjected(size, settings.maxEjectedPercent);
    }
    const r = recordOutcome(e.outlier, ok, now, settings, mayEject);
    if (r.state === e.outlier) return;
    e.outlier = r.state;
    if (!r.ejected) return;
    const forMs = r.state.ejectedUntil - now;
    this.ctx.telemetry?.onEjection(e.service, e.pool, e.record.id);
    this.ctx.event(e.service, {
      type: 'ejected',
      pool: e.pool,
      backend: e.record.id,
      message: `ejected for ${forMs}ms after ${settings.consecutiveFailures} consecutive failures (last: ${reason}); ejection #${r.state.ejections}`,
      details: { reason, forMs, ejections: r.state.ejections },
    });
    if (e.ejectTimer !== undefined) clearTimeout(e.ejectTimer);
    e.ejectTimer = setTimeout(() => {
      e.ejectTimer = undefined;
      if (!this.ctx.backends.isCurrent(e)) return;
      e.outlier = onReturn(e.outlier, e.settings.outlier ?? settings);
      this.ctx.event(e.service, { type: 'ejection_end', pool: e.pool, backend: e.record.id, message: 'ejection time over: backend takes traffic again' });
      this.ctx.rebuild([e.service]);
    }, forMs);
    e.ejectTimer.unref();
    this.ctx.rebuild([e.service]);
  }
}
