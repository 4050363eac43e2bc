import type { ClientSide } from './client-side.js';
import type { PoolTable, ServiceTable } from './table.js';
import type { Upstream } from './upstream.js';

/**
 * One access-log line for a request a backend answered (`log.access`, sampled by
 * `log.accessSample`). Fields are JSON-escaped by pino, never interpolated into a format string.
 */
export function logAccess(conn: ClientSide, svc: ServiceTable, pool: PoolTable, up: Upstream, status: number, grpcStatus: number, ms: number): void {
  const ctx = conn.ctx;
  if (ctx.accessLogger === undefined || (ctx.accessSample < 1 && Math.random() >= ctx.accessSample)) return;
  const protocol = (conn.socket as { alpnProtocol?: unknown }).alpnProtocol === 'h2' ? 'h2' : 'http/1.1';
  const line = { method: conn.head.method, url: conn.head.path, protocol, status, service: svc.name, pool: pool.name, backend: up.id, ms: Math.round(ms * 10) / 10 };
  ctx.accessLogger.info(grpcStatus >= 0 ? { ...line, grpcStatus } : line, 'access');
}
