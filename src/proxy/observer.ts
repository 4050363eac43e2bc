import type { ProxyErrorCode, UpstreamFailure } from '../errors.js';
import type { PoolTable, RoutingTable, ServiceTable } from './table.js';
import type { HoldStats } from './hold.js';
import type { Upstream } from './upstream.js';

/** Where the proxy reads the current routing table; the runtime swaps `current`. */
export interface TableSource {
  readonly current: RoutingTable;
}

/** What the proxy tells the rest of the process about each request (telemetry, outlier detection). */
export interface ProxyObserver {
  /**
   * A response from the backend reached the client (any status), or failed midway (499: the client
   * left). `grpcStatus`: a gRPC answer's grpc-status (2, 4, 13, 14 and 15 count as errors), -1 for
   * others; `h2`: the client asked over HTTP/2.
   */
  onResponse(svc: ServiceTable, pool: PoolTable, up: Upstream, status: number, durationMs: number, grpcStatus: number, h2: boolean): void;
  /** An attempt failed before a response: counted per backend for outlier detection. */
  onUpstreamFailure(svc: ServiceTable, pool: PoolTable, up: Upstream, reason: UpstreamFailure, retried: boolean): void;
  /** A request failed on its retry too (the client gets 502/504). */
  onRetriesExhausted(svc: ServiceTable, pool: PoolTable, up: Upstream, reason: UpstreamFailure): void;
  /** The proxy answered itself (no route, no backend, upstream error). */
  onProxyError(svc: ServiceTable | undefined, pool: PoolTable | undefined, code: ProxyErrorCode, durationMs: number): void;
  /** Requests waiting for a backend in `service` right now (hold queue length changed). */
  onHoldWaiting(service: string, waiting: number): void;
  /** A request that waited left the hold: served (went to a backend) or timed out, after `waitedMs`. */
  onHoldDone(service: string, waitedMs: number, timedOut: boolean): void;
  /** The service started holding requests (the queue is no longer empty), or stopped (it is again). */
  onHoldState(service: string, holding: boolean, stats: HoldStats): void;
}
