import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './route-options.js';
import { ErrorResponses, EventsResponse, HistoryResponse, SvcParams } from './schemas.js';
import type { SvcParamsT } from './schemas.js';
import { sendState } from './state-access.js';

/** What happened to a service: the stored changes (history) and this instance's events. */
export async function historyRoutes(app: FastifyInstance, { access, control, runtime }: RouteOptions): Promise<void> {
  app.get<{ Params: SvcParamsT }>(
    '/v1/services/:svc/history',
    { schema: { summary: 'The last 100 changes, newest first', params: SvcParams, response: { 200: HistoryResponse, ...ErrorResponses } } },
    async (req, reply) => {
      const state = control.current;
      const svc = access.service(req.params.svc, state);
      return sendState(reply, state.revision, { revision: state.revision, history: [...svc.history].reverse() });
    },
  );

  app.get<{ Params: SvcParamsT }>(
    '/v1/services/:svc/events',
    { schema: { summary: 'The last 200 local events with reasons, newest first', params: SvcParams, response: { 200: EventsResponse, ...ErrorResponses } } },
    async (req, reply) => {
      const { revision } = control.current;
      access.service(req.params.svc);
      const events = [...runtime.events.list(req.params.svc)].reverse();
      return sendState(reply, revision, { revision, events });
    },
  );
}
