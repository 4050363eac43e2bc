import type { FastifyInstance } from 'fastify';
import type { Telemetry } from '../telemetry/index.js';

/**
 * `GET /metrics` (Prometheus text format) and the count of admin calls by route and status.
 * No token unless `admin.protectMetrics` (the auth hook decides).
 */
export function registerMetrics(app: FastifyInstance, telemetry: Telemetry): void {
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    telemetry.onAdminRequest(route, reply.statusCode);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const text = await telemetry.metricsText();
    return reply.header('content-type', telemetry.contentType).header('cache-control', 'no-store').send(text);
  });
}
