import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './route-options.js';

/**
 * `GET /metrics` (Prometheus text format). No token unless `admin.protectMetrics` (the auth hook
 * decides). Admin calls are counted by a hook on the whole app (app.ts), not here.
 */
export async function metricsRoute(app: FastifyInstance, { telemetry, fresh }: RouteOptions): Promise<void> {
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    // Workers report every 250 ms; a scrape asks them first, so it counts every answer sent.
    if (fresh !== undefined) await fresh();
    const text = await telemetry.metricsText();
    return reply.header('content-type', telemetry.contentType).header('cache-control', 'no-store').send(text);
  });
}
