import { classifyUpstreamError } from '../errors.js';
import type { UpstreamFailure } from '../errors.js';
import type { PoolTable, ServiceTable } from './table.js';
import type { Upstream } from './upstream.js';

/** Methods that can be safely sent again after a reset with no response byte. */
export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * What went wrong when a backend's socket closed before its answer head was whole: `timedOut`
 * when the connection's deadline closed it, `connected` when the connect had succeeded, `err`
 * the socket's error (undefined on a plain close).
 */
export function attemptFailure(timedOut: boolean, connected: boolean, err: Error | undefined): UpstreamFailure {
  if (timedOut) return connected ? 'timeout' : 'connect_timeout';
  if (err === undefined) return connected ? 'reset' : 'connect_reset';
  return classifyUpstreamError(err, connected);
}

/**
 * The request may go again: nothing reached a backend (any method), or a reset with no response
 * byte on a bodiless idempotent request (the backend may have read a body: never sent twice).
 * `bodyStreamed`: body bytes beyond those that came with the head went to a backend.
 */
export function replayable(failure: UpstreamFailure, bodyStreamed: boolean, bodyless: boolean, method: string): boolean {
  if (bodyStreamed) return false;
  if (failure === 'connect_refused' || failure === 'connect_timeout' || failure === 'connect_reset') return true;
  return failure === 'reset' && bodyless && IDEMPOTENT.has(method);
}

/** Where a retry goes. */
export interface RetryTarget {
  readonly pool: PoolTable;
  readonly up: Upstream;
}

/**
 * SPEC retries go to another eligible backend with room (maxRequestsPerBackend): another one of
 * `pool` first, then the first other pool of the service's order that has one. Undefined when
 * there is none. The caller decides whether the request may go again at all (replayable, once).
 */
export function retryTarget(svc: ServiceTable, pool: PoolTable, failed: Upstream): RetryTarget | undefined {
  const max = svc.settings.maxRequestsPerBackend;
  const same = pool.balancer.pickOther(failed);
  if (same !== undefined && (max === 0 || same.inFlight < max)) return { pool, up: same };
  for (const p of svc.picker.order) {
    if (p === pool) continue;
    const up = p.balancer.pick();
    if (up !== undefined && up !== failed && (max === 0 || up.inFlight < max)) return { pool: p, up };
  }
  return undefined;
}
