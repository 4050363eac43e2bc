import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Health } from '../model/index.js';
import { RollingWindow } from './window.js';
import type { WindowSummary } from './window.js';

/** What the telemetry reads at scrape or snapshot time (the runtime provides it). */
export interface TelemetrySource {
  readonly revision: number;
  /** Every service with its split and its backends' live view. */
  forEachService(cb: (service: string, split: Readonly<Record<string, number>>, pools: readonly PoolLive[]) => void): void;
}

export interface PoolLive {
  readonly name: string;
  readonly backends: readonly BackendLive[];
}

export interface BackendLive {
  readonly id: string;
  readonly state: 'active' | 'draining' | 'maint';
  readonly health: Health;
  readonly ejected: boolean;
  readonly weight: number;
  readonly effectiveWeight: number;
  readonly inFlight: number;
  /** May take traffic as far as health goes: healthy, or unknown when the service has no check. */
  readonly healthOk: boolean;
  /** The object the proxy reports outcomes with (identity key for per-backend stats). */
  readonly key: object;
}

interface BackendStats {
  readonly window: RollingWindow;
  readonly byCode: Map<number, Counter.Internal>;
}

interface PoolStats {
  readonly window: RollingWindow;
  readonly duration: Histogram.Internal<string>;
  /** Cumulative counts since start, for gates that compare two moments. */
  requests: number;
  errors: number;
}

const STATES = ['active', 'draining', 'maint'] as const;

/**
 * Prometheus metrics (prom-client) and live windows. Per-request work is a few map lookups by
 * object or name and increments on children bound in advance; every gauge about the current state
 * (in-flight, health, weights, split, revision) is computed at scrape time instead.
 */
export class Telemetry {
  readonly registry = new Registry();
  private readonly requests: Counter;
  private readonly duration: Histogram;
  private readonly upstreamErrors: Counter;
  private readonly retries: Counter;
  private readonly healthChecks: Counter;
  private readonly ejections: Counter;
  private readonly adminRequests: Counter;
  private readonly backends = new Map<object, BackendStats>();
  private readonly pools = new Map<string, Map<string, PoolStats>>();
  private readonly retryChildren = new Map<string, Counter.Internal>();
  private source: TelemetrySource | undefined;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names these gauges with a `_total` suffix, which `promtool check metrics` rejects.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(name);
      }
    }
    this.requests = new Counter({
      name: 'turnout_requests_total',
      help: 'Requests answered, by service, pool, backend and status code (proxy answers have an empty backend).',
      labelNames: ['service', 'pool', 'backend', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'turnout_request_duration_seconds',
      help: 'Time from request to the end of the response, by service and pool.',
      labelNames: ['service', 'pool'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'turnout_upstream_errors_total',
      help: 'Failed attempts to a backend, by reason (connect_refused, connect_timeout, connect_reset, reset, timeout, error).',
      labelNames: ['service', 'pool', 'backend', 'reason'],
      registers,
    });
    this.retries = new Counter({ name: 'turnout_retries_total', help: 'Requests sent again to another backend.', labelNames: ['service'], registers });
    this.healthChecks = new Counter({
      name: 'turnout_health_checks_total',
      help: 'Active health probes, by result (pass, fail).',
      labelNames: ['service', 'pool', 'backend', 'result'],
      registers,
    });
    this.ejections = new Counter({
      name: 'turnout_ejections_total',
      help: 'Passive outlier ejections.',
      labelNames: ['service', 'pool', 'backend'],
      registers,
    });
    this.adminRequests = new Counter({
      name: 'turnout_admin_requests_total',
      help: 'Admin API calls by route and status code.',
      labelNames: ['route', 'code'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'turnout_backend_in_flight',
      help: 'Requests and upgraded connections in flight on a backend.',
      labelNames: ['service', 'pool', 'backend'],
      registers,
      collect() {
        this.reset();
        self.eachBackend((s, p, b) => this.set({ service: s, pool: p, backend: b.id }, b.inFlight));
      },
    });
    new Gauge({
      name: 'turnout_backend_healthy',
      help: '1 when the backend may take traffic as far as health goes (healthy, or unknown without checks), else 0.',
      labelNames: ['service', 'pool', 'backend'],
      registers,
      collect() {
        this.reset();
        self.eachBackend((s, p, b) => this.set({ service: s, pool: p, backend: b.id }, b.healthOk ? 1 : 0));
      },
    });
    new Gauge({
      name: 'turnout_backend_weight',
      help: 'Configured weight (0..1000) of a backend.',
      labelNames: ['service', 'pool', 'backend'],
      registers,
      collect() {
        this.reset();
        self.eachBackend((s, p, b) => this.set({ service: s, pool: p, backend: b.id }, b.weight));
      },
    });
    new Gauge({
      name: 'turnout_backend_state',
      help: 'Admin state of a backend: 1 for its current state, 0 for the others.',
      labelNames: ['service', 'pool', 'backend', 'state'],
      registers,
      collect() {
        this.reset();
        self.eachBackend((s, p, b) => {
          for (const st of STATES) this.set({ service: s, pool: p, backend: b.id, state: st }, b.state === st ? 1 : 0);
        });
      },
    });
    new Gauge({
      name: 'turnout_split_percent',
      help: 'Share of new requests a pool gets, in percent.',
      labelNames: ['service', 'pool'],
      registers,
      collect() {
        this.reset();
        self.source?.forEachService((s, split) => {
          for (const [p, v] of Object.entries(split)) this.set({ service: s, pool: p }, v);
        });
      },
    });
    new Gauge({
      name: 'turnout_state_revision',
      help: 'Revision of the state this process has applied.',
      registers,
      collect() {
        this.set(self.source?.revision ?? 0);
      },
    });
  }

  attach(source: TelemetrySource): void {
    this.source = source;
  }

  private eachBackend(cb: (service: string, pool: string, b: BackendLive) => void): void {
    this.source?.forEachService((s, _split, pools) => {
      for (const p of pools) for (const b of p.backends) cb(s, p.name, b);
    });
  }

  private poolStats(service: string, pool: string): PoolStats {
    let bySvc = this.pools.get(service);
    if (bySvc === undefined) {
      bySvc = new Map();
      this.pools.set(service, bySvc);
    }
    let ps = bySvc.get(pool);
    if (ps === undefined) {
      ps = { window: new RollingWindow(60), duration: this.duration.labels(service, pool), requests: 0, errors: 0 };
      bySvc.set(pool, ps);
    }
    return ps;
  }

  /** A response reached the client (status from the backend, or 502/504/499 when it failed). */
  onResponse(service: string, pool: string, backendKey: object, backendId: string, status: number, durationMs: number): void {
    let bs = this.backends.get(backendKey);
    if (bs === undefined) {
      bs = { window: new RollingWindow(15), byCode: new Map() };
      this.backends.set(backendKey, bs);
    }
    let child = bs.byCode.get(status);
    if (child === undefined) {
      child = this.requests.labels(service, pool, backendId, String(status));
      bs.byCode.set(status, child);
    }
    child.inc();
    const error = status >= 500;
    const now = Date.now();
    bs.window.record(now, durationMs, error);
    const ps = this.poolStats(service, pool);
    ps.window.record(now, durationMs, error);
    ps.requests++;
    if (error) ps.errors++;
    ps.duration.observe(durationMs / 1000);
  }

  /** The proxy answered itself: no_route (no service), no_backend, or an upstream failure after retries. */
  onProxyError(service: string, pool: string, status: number, durationMs: number): void {
    this.requests.labels(service, pool, '', String(status)).inc();
    if (service === '' || pool === '') return;
    const ps = this.poolStats(service, pool);
    ps.window.record(Date.now(), durationMs, status >= 500);
    ps.requests++;
    if (status >= 500) ps.errors++;
    ps.duration.observe(durationMs / 1000);
  }

  onUpstreamFailure(service: string, pool: string, backendId: string, reason: string, retried: boolean): void {
    this.upstreamErrors.labels(service, pool, backendId, reason).inc();
    if (retried) {
      let c = this.retryChildren.get(service);
      if (c === undefined) {
        c = this.retries.labels(service);
        this.retryChildren.set(service, c);
      }
      c.inc();
    }
  }

  onHealthCheck(service: string, pool: string, backendId: string, passed: boolean): void {
    this.healthChecks.labels(service, pool, backendId, passed ? 'pass' : 'fail').inc();
  }

  onEjection(service: string, pool: string, backendId: string): void {
    this.ejections.labels(service, pool, backendId).inc();
  }

  onAdminRequest(route: string, code: number): void {
    this.adminRequests.labels(route, String(code)).inc();
  }

  /** A backend left: forget its per-backend stats (its counters stay in the registry). */
  forget(backendKey: object): void {
    this.backends.delete(backendKey);
  }

  backendWindow(backendKey: object, nowMs: number, seconds: number): WindowSummary | undefined {
    return this.backends.get(backendKey)?.window.summary(nowMs, seconds);
  }

  poolWindow(service: string, pool: string, nowMs: number, seconds: number): WindowSummary {
    return this.poolStats(service, pool).window.summary(nowMs, seconds);
  }

  /** Cumulative requests and errors of a pool since start (gates diff two readings). */
  poolTotals(service: string, pool: string): { requests: number; errors: number } {
    const ps = this.poolStats(service, pool);
    return { requests: ps.requests, errors: ps.errors };
  }

  /** Every pool's cumulative counts and recent p99, keyed `service/pool` (reported to the fleet). */
  allPoolCounts(nowMs: number): Record<string, { requests: number; errors: number; p99Ms: number }> {
    const out: Record<string, { requests: number; errors: number; p99Ms: number }> = {};
    for (const [svc, pools] of this.pools) {
      for (const [pool, ps] of pools) out[`${svc}/${pool}`] = { requests: ps.requests, errors: ps.errors, p99Ms: ps.window.summary(nowMs, 60).p99Ms };
    }
    return out;
  }

  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
