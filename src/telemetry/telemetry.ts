import { PrometheusMetrics } from './prometheus.js';
import type { TelemetrySink } from './sink.js';
import type { TelemetrySource } from './source.js';
import { TrafficWindows } from './traffic.js';
import type { WindowSummary } from './window.js';

/** Fleet reports key a pool's mirrored copies `service/pool#mirror` (names never hold a `#`). */
export const MIRROR_KEY_SUFFIX = '#mirror';

/** The fleet report key of `pool`'s mirrored copies (`fleet.othersPoolTotals(mirrorKey(s, p))`). */
export const mirrorKey = (service: string, pool: string): string => `${service}/${pool}${MIRROR_KEY_SUFFIX}`;

export interface TelemetryOptions {
  /** Epoch ms (default Date.now): when each answer is recorded, and when a removed backend's series end. */
  readonly now?: () => number;
  /** Node.js process metrics in /metrics (default true). */
  readonly defaultMetrics?: boolean;
}

/**
 * What the rest of the process reports to and reads from: every outcome goes to the Prometheus
 * exposition (`/metrics`) and to the rolling windows (the live stream, the dashboard, the rollout
 * gates and the fleet report), which know nothing of each other.
 */
export class Telemetry implements TelemetrySink {
  private readonly now: () => number;
  private readonly prometheus: PrometheusMetrics;
  private readonly traffic = new TrafficWindows();
  /** Mirrored copies' answers, per service and mirrored pool: their own rps, errors and p99. */
  private readonly mirrored = new TrafficWindows();
  private readonly waiting = new Map<string, number>();

  constructor(opts: TelemetryOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.prometheus = new PrometheusMetrics({ now: this.now, defaultMetrics: opts.defaultMetrics !== false });
  }

  attach(source: TelemetrySource): void {
    this.prometheus.attach(source);
  }

  /**
   * A response reached the client (status from the backend, or 502/504/499 when it failed). Every
   * outcome below takes an optional `n`: a worker's report groups outcomes alike (one duration
   * class, see buckets.ts) and the supervisor records each group once, at its mean.
   */
  onResponse(service: string, pool: string, backendKey: object, backendId: string, status: number, durationMs: number, h2 = false, n = 1): void {
    this.prometheus.onResponse(service, pool, backendKey, backendId, status, durationMs, n);
    this.traffic.record(service, pool, backendKey, this.now(), durationMs, status >= 500, n, h2);
  }

  /** A gRPC answer: counted as any answer, by grpc-status, and as an error in the windows when `failed`. */
  onGrpcResponse(service: string, pool: string, backendKey: object, backendId: string, status: number, grpcStatus: number, failed: boolean, durationMs: number, h2 = true, n = 1): void {
    this.prometheus.onResponse(service, pool, backendKey, backendId, status, durationMs, n);
    this.prometheus.onGrpcResponse(service, pool, backendId, grpcStatus, n);
    this.traffic.record(service, pool, backendKey, this.now(), durationMs, failed, n, h2);
  }

  /** The proxy answered itself: no_route (no service), no_backend, or an upstream failure after retries. */
  onProxyError(service: string, pool: string, status: number, durationMs: number, n = 1): void {
    this.prometheus.onProxyError(service, pool, status, durationMs, n);
    if (service !== '' && pool !== '') this.traffic.record(service, pool, undefined, this.now(), durationMs, status >= 500, n);
  }

  /** A mirrored copy's answer was read (`status`; 502 when it failed, 504 when it timed out). */
  onMirrorAnswer(service: string, pool: string, _backendId: string, status: number, durationMs: number, n = 1): void {
    this.prometheus.mirror.answer(service, pool, status, n);
    this.mirrored.record(service, pool, undefined, this.now(), durationMs, status >= 500, n);
  }

  onMirrorDropped(service: string, pool: string, reason: string, n = 1): void {
    this.prometheus.mirror.dropped(service, pool, reason, n);
  }

  /** The mirrored copies' window of `pool` (rps, errors, p99): what a mirror-first gate judges. */
  mirrorWindow(service: string, pool: string, nowMs: number, seconds: number): WindowSummary {
    return this.mirrored.poolWindow(service, pool, nowMs, seconds);
  }

  /** Cumulative copies answered and failed (5xx) of a mirrored pool since start (gates diff two readings). */
  mirrorTotals(service: string, pool: string): { requests: number; errors: number } {
    return this.mirrored.poolTotals(service, pool);
  }

  onUpstreamFailure(service: string, pool: string, backendId: string, reason: string, retried: boolean, n = 1): void {
    this.prometheus.onUpstreamFailure(service, pool, backendId, reason, retried, n);
  }

  /** Requests waiting for a backend in `service` now (the hold queue). */
  onHoldWaiting(service: string, waiting: number): void {
    this.prometheus.onHoldWaiting(service, waiting);
    if (waiting === 0) this.waiting.delete(service);
    else this.waiting.set(service, waiting);
  }

  /** A request that waited went to a backend, or timed out. */
  onHoldDone(service: string, waitedMs: number, timedOut: boolean, n = 1): void {
    this.prometheus.onHoldDone(service, waitedMs, timedOut, n);
  }

  /** Requests waiting in `service`'s hold queue now (the live views). */
  holdWaiting(service: string): number {
    return this.waiting.get(service) ?? 0;
  }

  /** A rollout check was judged (turnout_rollout_checks_total). */
  onRolloutCheck(service: string, passed: boolean): void {
    this.prometheus.rollouts.onCheck(service, passed);
  }

  /** Where turnout_rollout_state reads the state of each service's current rollout, at scrape time. */
  readRolloutStatesFrom(states: () => Iterable<readonly [string, string]>): void {
    this.prometheus.rollouts.readStatesFrom(states);
  }

  onHealthCheck(service: string, pool: string, backendId: string, passed: boolean): void {
    this.prometheus.onHealthCheck(service, pool, backendId, passed);
  }

  onEjection(service: string, pool: string, backendId: string, n = 1): void {
    this.prometheus.onEjection(service, pool, backendId, n);
  }

  onAdminRequest(route: string, code: number): void {
    this.prometheus.onAdminRequest(route, code);
  }

  /** A backend left: its window goes at once, its counters after a while (prometheus.ts). */
  forget(backendKey: object): void {
    this.prometheus.forget(backendKey);
    this.traffic.forget(backendKey);
  }

  backendWindow(backendKey: object, nowMs: number, seconds: number): WindowSummary | undefined {
    return this.traffic.backendWindow(backendKey, nowMs, seconds);
  }

  poolWindow(service: string, pool: string, nowMs: number, seconds: number): WindowSummary {
    return this.traffic.poolWindow(service, pool, nowMs, seconds);
  }

  /** Of a pool's requests in the window, those that came over HTTP/2. */
  poolH2Requests(service: string, pool: string, nowMs: number, seconds: number): number {
    return this.traffic.poolH2Requests(service, pool, nowMs, seconds);
  }

  /** Cumulative requests and errors of a pool since start (gates diff two readings). */
  poolTotals(service: string, pool: string): { requests: number; errors: number } {
    return this.traffic.poolTotals(service, pool);
  }

  /**
   * Every pool's cumulative counts and recent p99, keyed `service/pool` (reported to the fleet),
   * and its mirrored copies', keyed `service/pool#mirror` (MIRROR_KEY_SUFFIX).
   */
  allPoolCounts(nowMs: number): Record<string, { requests: number; errors: number; p99Ms: number }> {
    const out = this.traffic.allPoolCounts(nowMs);
    for (const [key, counts] of Object.entries(this.mirrored.allPoolCounts(nowMs))) out[`${key}${MIRROR_KEY_SUFFIX}`] = counts;
    return out;
  }

  metricsText(): Promise<string> {
    return this.prometheus.metricsText();
  }

  get contentType(): string {
    return this.prometheus.contentType;
  }
}
