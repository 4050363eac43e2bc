import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './route-options.js';
import { ErrorResponses, FleetResponse } from './schemas.js';
import type { FleetAnswer } from './schemas.js';
import { sendState } from './state-access.js';

/**
 * `GET /v1/fleet`: the proxy instances sharing this state and the revision each has applied.
 * With an embedded store (memory, file) the fleet is this process alone.
 */
export async function fleetRoute(app: FastifyInstance, { store, control }: RouteOptions): Promise<void> {
  app.get(
    '/v1/fleet',
    { schema: { summary: 'The proxy instances sharing this state, with the revision each has applied', response: { 200: FleetResponse, ...ErrorResponses } } },
    async (_req, reply) => {
      const { revision } = control.current;
      const instances = await store.fleet.instances();
      const body: FleetAnswer = { revision, store: store.kind, instances: instances.map(({ draining: _d, ...rest }) => rest) };
      return sendState(reply, revision, body);
    },
  );
}
