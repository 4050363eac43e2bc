import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DURATION_BUCKETS, HOLD_WAIT_BUCKETS } from './buckets.js';
import { ByPool } from './by-pool.js';
import { histogramText } from './exposition.js';
import { MirrorMetrics } from './mirror-metrics.js';
import type { HistogramSeries } from './exposition.js';
import type { TelemetrySource } from './source.js';
import { RolloutMetrics } from './rollout-metrics.js';
import { registerStateGauges } from './state-gauges.js';
import type { ScrapedService } from './state-gauges.js';

interface BackendCodes {
  readonly service: string;
  readonly pool: string;
  readonly id: string;
  /** Responses by status code since start (turnout_requests_total). */
  readonly codes: Map<number, number>;
  /** Its pool's durations, at hand for the next response. */
  readonly durations: Durations;
}

interface Durations {
  /** Counts per bound of DURATION_BUCKETS (not cumulative). */
  readonly buckets: Float64Array;
  count: number;
  /** Seconds. */
  sum: number;
}

const UPSTREAM_FAILURES = ['connect_refused', 'connect_timeout', 'connect_reset', 'reset', 'timeout', 'error'];

/** How long the request counts of a removed backend stay in /metrics. */
const DEPARTED_KEEP_MS = 10 * 60_000;

const DURATION_NAME = 'turnout_request_duration_seconds';
const DURATION_HELP = 'Time from request to the end of the response, by service and pool.';

/**
 * The Prometheus exposition (prom-client). Per-request work is a map lookup by object or name and
 * plain increments; the request counts become turnout_requests_total in a collect callback, and
 * the gauges about the current state read the source at scrape time (state-gauges.ts).
 */
export class PrometheusMetrics {
  private readonly registry = new Registry();
  private readonly now: () => number;
  private readonly upstreamErrors: Counter;
  private readonly retries: Counter;
  private readonly holdWaiting: Gauge;
  private readonly holdWait: Histogram;
  private readonly holdTimeouts: Counter;
  private readonly healthChecks: Counter;
  private readonly ejections: Counter;
  private readonly adminRequests: Counter;
  readonly mirror: MirrorMetrics;
  readonly rollouts: RolloutMetrics;
  private readonly grpcRequests: Counter;
  private readonly backends = new Map<object, BackendCodes>();
  /** Counts of backends that left, kept so counters never go down. */
  private departed: (BackendCodes & { goneAt: number })[] = [];
  private readonly durations = new ByPool<Durations>(() => ({ buckets: new Float64Array(DURATION_BUCKETS.length), count: 0, sum: 0 }));
  /** Answers the proxy gave itself, by `service\0pool\0code`. */
  private readonly proxyAnswers = new Map<string, number>();
  private readonly retryChildren = new Map<string, Counter.Internal>();
  private source: TelemetrySource | undefined;
  /** During one scrape: the services read once and shared by every gauge's collect. */
  private scrape: ScrapedService[] | undefined;

  constructor(opts: { readonly now: () => number; readonly defaultMetrics: boolean }) {
    this.now = opts.now;
    const registers = [this.registry];
    if (opts.defaultMetrics) {
      // Event-loop lag sampled every 100 ms (prom-client's 10 ms default wakes an idle proxy 100 times a second).
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
      // prom-client names these gauges with a `_total` suffix, which `promtool check metrics` rejects.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(name);
      }
    }
    const self = this;
    new Counter({
      name: 'turnout_requests_total',
      help: 'Requests answered, by service, pool, backend and status code (proxy answers have an empty backend).',
      labelNames: ['service', 'pool', 'backend', 'code'],
      registers,
      collect() {
        this.reset();
        self.pruneDeparted(self.now());
        // A backend removed and registered again under its id continues its series: inc adds up.
        for (const b of [...self.backends.values(), ...self.departed]) {
          for (const [code, n] of b.codes) this.inc({ service: b.service, pool: b.pool, backend: b.id, code }, n);
        }
        for (const [key, n] of self.proxyAnswers) {
          const [service, pool, code] = key.split('\u0000') as [string, string, string];
          this.inc({ service, pool, backend: '', code }, n);
        }
      },
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
    this.holdWaiting = new Gauge({
      name: 'turnout_hold_waiting',
      help: 'Requests waiting for a backend right now (hold queue), by service.',
      labelNames: ['service'],
      registers,
    });
    this.holdWait = new Histogram({
      name: 'turnout_hold_wait_seconds',
      help: 'How long requests waited for a backend before going to one or timing out, by service.',
      labelNames: ['service'],
      buckets: [...HOLD_WAIT_BUCKETS],
      registers,
    });
    this.holdTimeouts = new Counter({
      name: 'turnout_hold_timeouts_total',
      help: 'Requests that waited for a backend until hold.timeout and got an error answer, by service.',
      labelNames: ['service'],
      registers,
    });
    this.adminRequests = new Counter({
      name: 'turnout_admin_requests_total',
      help: 'Admin API calls by route and status code.',
      labelNames: ['route', 'code'],
      registers,
    });
    this.mirror = new MirrorMetrics(registers);
    this.rollouts = new RolloutMetrics(this.registry);
    this.grpcRequests = new Counter({
      name: 'turnout_grpc_requests_total',
      help: 'gRPC answers from backends, by service, pool, backend and grpc-status (2, 4, 13, 14 and 15 count as errors).',
      labelNames: ['service', 'pool', 'backend', 'grpc_status'],
      registers,
    });
    registerStateGauges(this.registry, (cb) => this.eachService(cb), () => this.source?.revision ?? 0);
  }

  attach(source: TelemetrySource): void {
    this.source = source;
  }

  private eachService(cb: (s: ScrapedService) => void): void {
    if (this.scrape !== undefined) for (const s of this.scrape) cb(s);
    else this.source?.forEachService((service, split, pools) => cb({ service, split, pools }));
  }

  private observe(d: Durations, durationMs: number, n: number): void {
    const seconds = durationMs / 1000;
    d.count += n;
    d.sum += seconds * n;
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      if (seconds <= (DURATION_BUCKETS[i] as number)) {
        d.buckets[i] = (d.buckets[i] as number) + n;
        break;
      }
    }
  }

  /** A response reached the client (status from the backend, or 502/504/499 when it failed). */
  onResponse(service: string, pool: string, backendKey: object, backendId: string, status: number, durationMs: number, n = 1): void {
    let b = this.backends.get(backendKey);
    if (b === undefined) {
      b = { service, pool, id: backendId, codes: new Map(), durations: this.durations.at(service, pool) };
      this.backends.set(backendKey, b);
    }
    b.codes.set(status, (b.codes.get(status) ?? 0) + n);
    this.observe(b.durations, durationMs, n);
  }

  /** The proxy answered itself: no_route (no service), no_backend, or an upstream failure after retries. */
  onProxyError(service: string, pool: string, status: number, durationMs: number, n = 1): void {
    const key = `${service}\u0000${pool}\u0000${status}`;
    this.proxyAnswers.set(key, (this.proxyAnswers.get(key) ?? 0) + n);
    if (service !== '' && pool !== '') this.observe(this.durations.at(service, pool), durationMs, n);
  }

  /** A gRPC answer, by its grpc-status. */
  onGrpcResponse(service: string, pool: string, backendId: string, grpcStatus: number, n = 1): void {
    this.grpcRequests.labels(service, pool, backendId, String(grpcStatus)).inc(n);
  }

  onUpstreamFailure(service: string, pool: string, backendId: string, reason: string, retried: boolean, n = 1): void {
    this.upstreamErrors.labels(service, pool, backendId, reason).inc(n);
    if (retried) {
      let c = this.retryChildren.get(service);
      if (c === undefined) {
        c = this.retries.labels(service);
        this.retryChildren.set(service, c);
      }
      c.inc(n);
    }
  }

  onHoldWaiting(service: string, waiting: number): void {
    this.holdWaiting.labels(service).set(waiting);
  }

  onHoldDone(service: string, waitedMs: number, timedOut: boolean, n = 1): void {
    const h = this.holdWait.labels(service);
    for (let i = 0; i < n; i++) h.observe(waitedMs / 1000);
    if (timedOut) this.holdTimeouts.labels(service).inc(n);
  }

  onHealthCheck(service: string, pool: string, backendId: string, passed: boolean): void {
    this.healthChecks.labels(service, pool, backendId, passed ? 'pass' : 'fail').inc();
  }

  onEjection(service: string, pool: string, backendId: string, n = 1): void {
    this.ejections.labels(service, pool, backendId).inc(n);
  }

  onAdminRequest(route: string, code: number): void {
    this.adminRequests.labels(route, String(code)).inc();
  }

  /** A backend left: its counts stay scrapeable for a while, then its series end. */
  forget(backendKey: object): void {
    const b = this.backends.get(backendKey);
    if (b === undefined) return;
    this.backends.delete(backendKey);
    // A final scrape sees the last values; a proxy living through many deploys must not grow
    // its metrics without bound.
    const now = this.now();
    this.pruneDeparted(now);
    const same = this.departed.find((d) => d.service === b.service && d.pool === b.pool && d.id === b.id);
    if (same === undefined) this.departed.push({ ...b, goneAt: now });
    else {
      for (const [code, n] of b.codes) same.codes.set(code, (same.codes.get(code) ?? 0) + n);
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
  private isBack(d: BackendCodes): boolean {
    for (const b of this.backends.values()) if (b.service === d.service && b.pool === d.pool && b.id === d.id) return true;
    return false;
  }

  /** Every pool that served, and every pool the state has now (at zero until it serves). */
  private durationSeries(): HistogramSeries[] {
    const out: HistogramSeries[] = [];
    for (const [service, pool, d] of this.durations.entries()) out.push({ labels: { service, pool }, ...d });
    this.eachService((s) => {
      for (const p of s.pools) {
        if (this.durations.get(s.service, p.name) === undefined) {
          out.push({ labels: { service: s.service, pool: p.name }, buckets: [], count: 0, sum: 0 });
        }
      }
    });
    return out;
  }

  async metricsText(): Promise<string> {
    // Read the live state once for all gauges of this scrape.
    const scrape: ScrapedService[] = [];
    this.source?.forEachService((service, split, pools) => scrape.push({ service, split, pools }));
    this.scrape = scrape;
    try {
      return (await this.registry.metrics()) + histogramText(DURATION_NAME, DURATION_HELP, DURATION_BUCKETS, this.durationSeries());
    } finally {
      this.scrape = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
