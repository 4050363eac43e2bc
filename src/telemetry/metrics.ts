import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
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
  readonly service: string;
  readonly pool: string;
  readonly id: string;
  readonly window: RollingWindow;
  /** Responses by status code since start (turnout_requests_total). */
  readonly codes: Map<number, number>;
}

interface PoolStats {
  readonly window: RollingWindow;
  /** Cumulative counts per duration bucket (turnout_request_duration_seconds), seconds. */
  readonly buckets: Float64Array;
  durationSum: number;
  /** Cumulative counts since start, for gates that compare two moments. */
  requests: number;
  errors: number;
}

const UPSTREAM_FAILURES = ['connect_refused', 'connect_timeout', 'connect_reset', 'reset', 'timeout', 'error'];

/** How long the request counts of a removed backend stay in /metrics. */
const DEPARTED_KEEP_MS = 10 * 60_000;

/** Upper bounds of turnout_request_duration_seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface MetricValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/**
 * A metric whose values are assembled at scrape time from plain counters the hot path increments
 * (prom-client's own children hash their labels on every observation).
 */
class CollectedMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly collect: () => MetricValue[],
  ) {}

  get aggregator(): 'sum' {
    return 'sum';
  }

  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }> {
    return { name: this.name, help: this.help, type: this.type, values: this.collect(), aggregator: 'sum' };
  }

  reset(): void {}
}

const STATES = ['active', 'draining', 'maint'] as const;

/**
 * Prometheus metrics (prom-client) and live windows. Per-request work is a few map lookups by
 * object or name and increments on children bound in advance; every gauge about the current state
 * (in-flight, health, weights, split, revision) is computed at scrape time instead.
 */
export class Telemetry {
  readonly registry = new Registry();
  private readonly upstreamErrors: Counter;
  private readonly retries: Counter;
  private readonly healthChecks: Counter;
  private readonly ejections: Counter;
  private readonly adminRequests: Counter;
  private readonly backends = new Map<object, BackendStats>();
  /** Stats of backends that left, folded in so counters never go down. */
  private departed: (BackendStats & { goneAt: number })[] = [];
  private readonly pools = new Map<string, Map<string, PoolStats>>();
  /** Answers the proxy gave itself, by `service\0pool\0code`. */
  private readonly proxyAnswers = new Map<string, number>();
  private readonly retryChildren = new Map<string, Counter.Internal>();
  private source: TelemetrySource | undefined;
  /** During one scrape: the services read once and shared by every gauge's collect. */
  private scrape: { service: string; split: Readonly<Record<string, number>>; pools: readonly PoolLive[] }[] | undefined;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) {
      // Event-loop lag sampled every 100 ms (prom-client's 10 ms default wakes an idle proxy 100 times a second).
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
      // prom-client names these gauges with a `_total` suffix, which `promtool check metrics` rejects.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(name);
      }
    }
    const requests = new CollectedMetric(
      'turnout_requests_total',
      'Requests answered, by service, pool, backend and status code (proxy answers have an empty backend).',
      'counter',
      () => {
        const out: MetricValue[] = [];
        this.pruneDeparted(Date.now());
        // A backend removed and registered again under its id continues its series: sum by labels.
        const sums = new Map<string, { labels: Record<string, string | number>; value: number }>();
        for (const b of [...this.backends.values(), ...this.departed]) {
          for (const [code, n] of b.codes) {
            const key = `${b.service}\u0000${b.pool}\u0000${b.id}\u0000${code}`;
            const have = sums.get(key);
            if (have !== undefined) have.value += n;
            else sums.set(key, { labels: { service: b.service, pool: b.pool, backend: b.id, code }, value: n });
          }
        }
        for (const v of sums.values()) out.push(v);
        for (const [key, n] of this.proxyAnswers) {
          const [service, pool, code] = key.split('\u0000') as [string, string, string];
          out.push({ value: n, labels: { service, pool, backend: '', code } });
        }
        return out;
      },
    );
    const duration = new CollectedMetric(
      'turnout_request_duration_seconds',
      'Time from request to the end of the response, by service and pool.',
      'histogram',
      () => {
        const out: MetricValue[] = [];
        const name = 'turnout_request_duration_seconds';
        for (const [service, pools] of this.pools) {
          for (const [pool, ps] of pools) {
            let acc = 0;
            DURATION_BUCKETS.forEach((le, i) => {
              acc += ps.buckets[i] as number;
              out.push({ value: acc, labels: { le, service, pool }, metricName: `${name}_bucket` });
            });
            out.push({ value: ps.requests, labels: { le: '+Inf', service, pool }, metricName: `${name}_bucket` });
            out.push({ value: ps.durationSum, labels: { service, pool }, metricName: `${name}_sum` });
            out.push({ value: ps.requests, labels: { service, pool }, metricName: `${name}_count` });
          }
        }
        return out;
      },
    );
    this.registry.registerMetric(requests as unknown as Parameters<Registry['registerMetric']>[0]);
    this.registry.registerMetric(duration as unknown as Parameters<Registry['registerMetric']>[0]);
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
        self.eachService((s, split) => {
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

  private eachService(cb: (service: string, split: Readonly<Record<string, number>>, pools: readonly PoolLive[]) => void): void {
    if (this.scrape !== undefined) {
      for (const s of this.scrape) cb(s.service, s.split, s.pools);
      return;
    }
    this.source?.forEachService(cb);
  }

  private eachBackend(cb: (service: string, pool: string, b: BackendLive) => void): void {
    this.eachService((s, _split, pools) => {
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
      ps = { window: new RollingWindow(60), buckets: new Float64Array(DURATION_BUCKETS.length), durationSum: 0, requests: 0, errors: 0 };
      bySvc.set(pool, ps);
    }
    return ps;
  }

  private recordPool(ps: PoolStats, nowMs: number, durationMs: number, error: boolean): void {
    ps.window.record(nowMs, durationMs, error);
    ps.requests++;
    if (error) ps.errors++;
    const seconds = durationMs / 1000;
    ps.durationSum += seconds;
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      if (seconds <= (DURATION_BUCKETS[i] as number)) {
        ps.buckets[i] = (ps.buckets[i] as number) + 1;
        break;
      }
    }
  }

  /** A response reached the client (status from the backend, or 502/504/499 when it failed). */
  onResponse(service: string, pool: string, backendKey: object, backendId: string, status: number, durationMs: number): void {
    let bs = this.backends.get(backendKey);
    if (bs === undefined) {
      bs = { service, pool, id: backendId, window: new RollingWindow(15), codes: new Map() };
      this.backends.set(backendKey, bs);
    }
    bs.codes.set(status, (bs.codes.get(status) ?? 0) + 1);
    const error = status >= 500;
    const now = Date.now();
    bs.window.record(now, durationMs, error);
    this.recordPool(this.poolStats(service, pool), now, durationMs, error);
  }

  /** The proxy answered itself: no_route (no service), no_backend, or an upstream failure after retries. */
  onProxyError(service: string, pool: string, status: number, durationMs: number): void {
    const key = `${service}\u0000${pool}\u0000${status}`;
    this.proxyAnswers.set(key, (this.proxyAnswers.get(key) ?? 0) + 1);
    if (service === '' || pool === '') return;
    this.recordPool(this.poolStats(service, pool), Date.now(), durationMs, status >= 500);
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
    const bs = this.backends.get(backendKey);
    if (bs === undefined) return;
    this.backends.delete(backendKey);
    // Its counts stay scrapeable for a while (a final scrape sees the last values), then the
    // series end: a proxy living through many deploys must not grow its metrics without bound.
    const now = Date.now();
    this.pruneDeparted(now);
    const same = this.departed.find((d) => d.service === bs.service && d.pool === bs.pool && d.id === bs.id);
    if (same === undefined) this.departed.push({ ...bs, goneAt: now });
    else {
      for (const [code, n] of bs.codes) same.codes.set(code, (same.codes.get(code) ?? 0) + n);
      same.goneAt = now;
    }
  }

  private pruneDeparted(now: number): void {
    if (this.departed.length === 0) return;
    const keep: typeof this.departed = [];
    for (const d of this.departed) {
      if (now - d.goneAt < DEPARTED_KEEP_MS || this.isBack(d)) {
        keep.push(d);
        continue;
      }
      // The backend's other series end with it too.
      for (const result of ['pass', 'fail']) this.healthChecks.remove(d.service, d.pool, d.id, result);
      for (const reason of UPSTREAM_FAILURES) this.upstreamErrors.remove(d.service, d.pool, d.id, reason);
      this.ejections.remove(d.service, d.pool, d.id);
    }
    this.departed = keep;
  }

  /** A backend of that id was registered again in the same pool: its series live on. */
  private isBack(d: BackendStats): boolean {
    for (const b of this.backends.values()) if (b.service === d.service && b.pool === d.pool && b.id === d.id) return true;
    return false;
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

  async metricsText(): Promise<string> {
    // Read the live state once for all gauges of this scrape.
    const scrape: NonNullable<Telemetry['scrape']> = [];
    this.source?.forEachService((service, split, pools) => scrape.push({ service, split, pools }));
    this.scrape = scrape;
    try {
      return await this.registry.metrics();
    } finally {
      this.scrape = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
