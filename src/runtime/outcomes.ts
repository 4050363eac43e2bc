import { PROXY_ERROR_STATUS } from '../errors.js';
import type { ProxyErrorCode, UpstreamFailure } from '../errors.js';
import { isGrpcError } from '../proxy/index.js';
import type { HoldStats, PoolTable, ProxyObserver, ServiceTable, Upstream } from '../proxy/index.js';
import type { RuntimeContext } from './context.js';
import type { Outliers } from './outliers.js';

/**
 * The proxy's observer: relays every outcome to telemetry, feeds outlier detection, and turns
 * exhausted retries into events (at most one a second per service, so an outage does not turn the
 * event log into a request log).
 */
export class OutcomeRelay implements ProxyObserver {
  private readonly retryEventAt = new Map<string, number>();
  private readonly retryEventsSuppressed = new Map<string, number>();

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly outliers: Outliers,
  ) {}

  onResponse(svc: ServiceTable, pool: PoolTable, up: Upstream, status: number, durationMs: number, grpcStatus = -1, h2 = false): void {
    if (grpcStatus >= 0) return this.onGrpcResponse(svc, pool, up, status, durationMs, grpcStatus, h2);
    this.ctx.telemetry?.onResponse(svc.name, pool.name, up, up.id, status, durationMs, h2);
    if (status === 499) return; // the client left: says nothing about the backend
    this.record(up, status < 500, status >= 500 ? `status ${status}` : '');
  }

  /** A gRPC answer: grpc-status 2, 4, 13, 14 and 15 are errors wherever errors are counted (SPEC "HTTP/2 and gRPC"). */
  private onGrpcResponse(svc: ServiceTable, pool: PoolTable, up: Upstream, status: number, durationMs: number, grpcStatus: number, h2: boolean): void {
    const failed = status >= 500 || isGrpcError(grpcStatus);
    this.ctx.telemetry?.onGrpcResponse(svc.name, pool.name, up, up.id, status, grpcStatus, failed, durationMs, h2);
    this.record(up, !failed, failed ? `grpc-status ${grpcStatus}` : '');
  }

  onUpstreamFailure(svc: ServiceTable, pool: PoolTable, up: Upstream, reason: UpstreamFailure, retried: boolean): void {
    this.ctx.telemetry?.onUpstreamFailure(svc.name, pool.name, up.id, reason, retried);
    this.record(up, false, reason);
  }

  onProxyError(svc: ServiceTable | undefined, pool: PoolTable | undefined, code: ProxyErrorCode, durationMs: number): void {
    this.ctx.telemetry?.onProxyError(svc?.name ?? '', pool?.name ?? '', PROXY_ERROR_STATUS[code], durationMs);
  }

  onHoldWaiting(service: string, waiting: number): void {
    this.ctx.telemetry?.onHoldWaiting(service, waiting);
  }

  onHoldDone(service: string, waitedMs: number, timedOut: boolean): void {
    this.ctx.telemetry?.onHoldDone(service, waitedMs, timedOut);
  }

  /** Holding starts and stops are events: an operator sees why requests were slow, and for how long. */
  onHoldState(service: string, holding: boolean, stats: HoldStats): void {
    if (holding) {
      this.ctx.event(service, { type: 'hold_start', message: 'requests wait: no backend can take them now' });
      return;
    }
    const forMs = Math.round(performance.now() - stats.since);
    this.ctx.event(service, {
      type: 'hold_end',
      message: `no request waits any more (held ${forMs}ms: ${stats.served} sent to a backend, ${stats.timedOut} timed out, longest wait ${Math.round(stats.longestMs)}ms)`,
      details: { forMs, served: stats.served, timedOut: stats.timedOut, longestWaitMs: Math.round(stats.longestMs) },
    });
  }

  onRetriesExhausted(svc: ServiceTable, pool: PoolTable, up: Upstream, reason: UpstreamFailure): void {
    const now = this.ctx.now();
    const last = this.retryEventAt.get(svc.name) ?? 0;
    if (now - last < 1000) {
      this.retryEventsSuppressed.set(svc.name, (this.retryEventsSuppressed.get(svc.name) ?? 0) + 1);
      return;
    }
    const suppressed = this.retryEventsSuppressed.get(svc.name) ?? 0;
    this.retryEventAt.set(svc.name, now);
    this.retryEventsSuppressed.set(svc.name, 0);
    this.ctx.event(svc.name, {
      type: 'retries_exhausted',
      pool: pool.name,
      backend: up.id,
      message: `request failed after its retry: ${reason} on ${up.id}${suppressed > 0 ? ` (and ${suppressed} more in the last second)` : ''}`,
      details: { reason, suppressed },
    });
  }

  private record(up: Upstream, ok: boolean, reason: string): void {
    const e = this.ctx.backends.ofUpstream(up);
    if (e !== undefined) this.outliers.record(e, ok, reason);
  }
}
