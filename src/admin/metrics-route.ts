import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './route-options.js';

/**
 * `GET /metrics` (Prometheus text format). No token unless `admin.protectMetrics` (the auth hook
 * decides). Admin calls are counted by a hook on the whole app (app.ts), not here.
 */
export async function metricsRoute(app: FastifyInstance, { telemetry }: RouteOptions): Promise<void> {
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const text = await telemetry.metricsText();
    return reply.header('content-type', telemetry.contentType).header('cache-control', 'no-store').send(text);
  });
}
