import { readStickyCookie } from '../balancer/index.js';
import type { PoolTable, ServiceTable } from './table.js';
import { H } from './head.js';
import type { RequestHead } from './head.js';
import type { Upstream } from './upstream.js';

/**
 * Chooses the pool for a request: the header override (when enabled, reaching 0 % pools but never
 * a pool with no eligible backend), then the sticky cookie (while that pool has a share and an
 * eligible backend), then the split. Pure over the table; `random` in [0, 1).
 */
export function choosePool(svc: ServiceTable, head: RequestHead, random: number): PoolTable | undefined {
  const s = svc.settings;
  if (s.headerOverride) {
    const wanted = head.value(H.X_TURNOUT_POOL);
    if (wanted !== undefined) {
      const pool = svc.pools.get(wanted);
      if (pool !== undefined && pool.balancer.size > 0) return pool;
    }
  }
  if (s.sticky) {
    const name = readStickyCookie(head.values(H.COOKIE, '; '), svc.cookieName);
    if (name !== undefined) {
      const pool = svc.pools.get(name);
      if (pool !== undefined && pool.share > 0 && pool.balancer.size > 0) return pool;
    }
  }
  return svc.picker.pick(random);
}

/** The Set-Cookie line a sticky service sends when the request did not already carry `pool`. */
export function stickyLine(svc: ServiceTable, head: RequestHead, pool: PoolTable): string {
  if (!svc.settings.sticky) return '';
  if (readStickyCookie(head.values(H.COOKIE, '; '), svc.cookieName) === pool.name) return '';
  return `set-cookie: ${pool.setCookie}\r\n`;
}

/** Where pickBackend reports the pool it chose and whether that pool was full (maxRequestsPerBackend). */
export interface PickResult {
  pool: PoolTable | undefined;
  full: boolean;
}

/**
 * The pool (choosePool) and a backend of it with room: with `maxRequestsPerBackend` set, a backend
 * at the limit is passed over for the next one in the pool's order; when every one is at the
 * limit, none is returned and `out.full` is set (the request waits for room).
 */
export function pickBackend(svc: ServiceTable, head: RequestHead, random: number, out: PickResult): Upstream | undefined {
  const pool = choosePool(svc, head, random);
  out.pool = pool;
  out.full = false;
  if (pool === undefined) return undefined;
  let up = pool.balancer.pick();
  const max = svc.settings.maxRequestsPerBackend;
  if (up === undefined || max === 0 || up.inFlight < max) return up;
  for (let i = 1; i < pool.balancer.size; i++) {
    up = pool.balancer.pick();
    if (up !== undefined && up.inFlight < max) return up;
  }
  out.full = true;
  return undefined;
}
