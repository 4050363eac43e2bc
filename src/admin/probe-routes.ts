import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './route-options.js';

/** `GET /healthz` and `GET /readyz`: the proxy's own liveness and readiness, without a token. */
export async function probeRoutes(app: FastifyInstance, { runtime, isReady }: RouteOptions): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    if (!isReady()) return reply.code(503).send({ status: 'shutting_down' });
    return { status: 'ready', revision: runtime.revision };
  });
}
