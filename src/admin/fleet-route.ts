import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { StateStore } from '../store/index.js';

/**
 * `GET /v1/fleet`: the proxy instances sharing this state and the revision each has applied.
 * With an embedded store (memory, file) the fleet is this process alone.
 */
export function registerFleet(app: FastifyInstance, store: StateStore, currentRevision: () => number): void {
  const startedAt = new Date().toISOString();
  app.get('/v1/fleet', { schema: { summary: 'The proxy instances sharing this state, with the revision each has applied' } }, async (_req, reply) => {
    const revision = currentRevision();
    const instances =
      store.fleet !== undefined
        ? await store.fleet()
        : [{ id: `${hostname()}:${process.pid}`, host: hostname(), pid: process.pid, startedAt, revision, seenAt: new Date().toISOString() }];
    return reply
      .header('etag', `"${revision}"`)
      .header('cache-control', 'no-store')
      .send({ revision, store: store.kind, instances: instances.map(({ draining: _d, ...rest }) => rest) });
  });
}
