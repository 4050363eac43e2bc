import type { TelemetrySource } from './source.js';

/**
 * What the runtime reports outcomes to: the Telemetry of the process that serves the admin API,
 * or, in a worker, a relay that batches them to the supervisor's Telemetry.
 */
export interface TelemetrySink {
  attach(source: TelemetrySource): void;
  /** A response reached the client (status from the backend, or 502/504/499 when it failed); `h2`: over HTTP/2. */
  onResponse(service: string, pool: string, backendKey: object, backendId: string, status: number, durationMs: number, h2?: boolean): void;
  /**
   * A gRPC answer reached the client: HTTP `status` (200) and its `grpcStatus`; `failed` when it
   * counts as an error (grpc-status 2, 4, 13, 14, 15). Counted as onResponse is, and by grpc-status.
   */
  onGrpcResponse(service: string, pool: string, backendKey: object, backendId: string, status: number, grpcStatus: number, failed: boolean, durationMs: number, h2?: boolean): void;
  /** The proxy answered itself: no_route (no service), no_backend, or an upstream failure after retries. */
  onProxyError(service: string, pool: string, status: number, durationMs: number): void;
  onUpstreamFailure(service: string, pool: string, backendId: string, reason: string, retried: boolean): void;
  /** Requests waiting for a backend in `service` now (the hold queue). */
  onHoldWaiting(service: string, waiting: number): void;
  /** A request that waited went to a backend, or timed out. */
  onHoldDone(service: string, waitedMs: number, timedOut: boolean): void;
  onHealthCheck(service: string, pool: string, backendId: string, passed: boolean): void;
  onEjection(service: string, pool: string, backendId: string): void;
  /** A mirrored copy's answer was read (`status`; 502 when it failed, 504 when it timed out). */
  onMirrorAnswer(service: string, pool: string, backendId: string, status: number, durationMs: number): void;
  /** A copy was not sent: max_in_flight, no_backend, body_too_large, body_incomplete. */
  onMirrorDropped(service: string, pool: string, reason: string): void;
  /** A backend left: its windows and (later) its counters go. */
  forget(backendKey: object): void;
}
