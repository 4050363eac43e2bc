import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { ByPool } from './by-pool.js';

/**
 * Mirrored copies in /metrics (SPEC "Mirroring"): `turnout_mirror_requests_total{service,pool,code}`
 * (a copy that failed counts as 502, one that timed out as 504) and
 * `turnout_mirror_dropped_total{service,pool,reason}` (max_in_flight, no_backend, body_too_large,
 * body_incomplete). Per copy: a lookup and an increment; the series are made at scrape time.
 */
export class MirrorMetrics {
  private readonly codes = new ByPool<Map<number, number>>(() => new Map());
  private readonly drops = new ByPool<Map<string, number>>(() => new Map());

  constructor(registers: Registry[]) {
    const self = this;
    new Counter({
      name: 'turnout_mirror_requests_total',
      help: 'Mirrored copies answered, by service, mirrored pool and status code (502: the copy failed, 504: it timed out).',
      labelNames: ['service', 'pool', 'code'],
      registers,
      collect() {
        this.reset();
        for (const [service, pool, codes] of self.codes.entries()) for (const [code, n] of codes) this.inc({ service, pool, code }, n);
      },
    });
    new Counter({
      name: 'turnout_mirror_dropped_total',
      help: 'Copies not sent, by reason (max_in_flight, no_backend, body_too_large, body_incomplete).',
      labelNames: ['service', 'pool', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const [service, pool, reasons] of self.drops.entries()) for (const [reason, n] of reasons) this.inc({ service, pool, reason }, n);
      },
    });
  }

  answer(service: string, pool: string, status: number, n = 1): void {
    const codes = this.codes.at(service, pool);
    codes.set(status, (codes.get(status) ?? 0) + n);
  }

  dropped(service: string, pool: string, reason: string, n = 1): void {
    const reasons = this.drops.at(service, pool);
    reasons.set(reason, (reasons.get(reason) ?? 0) + n);
  }
}
