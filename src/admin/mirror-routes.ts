import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Command } from '../model/index.js';
import type { RouteOptions } from './route-options.js';
import { ErrorResponses, MirrorBody, ServiceResponse, SvcParams, WriteQuery } from './schemas.js';
import type { MirrorBodyT, ServiceAnswer, SvcParamsT, WriteQueryT } from './schemas.js';

/**
 * `PUT` and `DELETE /v1/services/:svc/mirror` (SPEC "Mirroring"): start, change or stop copying a
 * share of a service's requests to a pool. A write like any other (revision, history, fleet); an
 * unknown pool or a bad value is a 400 naming the key, and changes nothing.
 */
export async function mirrorRoutes(app: FastifyInstance, { access }: RouteOptions): Promise<void> {
  const write = async (req: FastifyRequest, reply: FastifyReply, cmd: Command, flags: WriteQueryT): Promise<FastifyReply> => {
    access.service(cmd.service);
    const written = await access.write(req, cmd, flags);
    const body: ServiceAnswer = {
      revision: written.state.revision,
      service: access.serviceView(cmd.service, written.state),
      ...(written.dryRun ? { dryRun: true } : {}),
    };
    return access.sendWritten(reply, written, body);
  };

  app.put<{ Params: SvcParamsT; Body: MirrorBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/mirror',
    {
      schema: {
        summary: 'Start or change mirroring: a copy of that share of the requests goes to a backend of the pool, its answer discarded',
        params: SvcParams,
        body: MirrorBody,
        querystring: WriteQuery,
        response: { 200: ServiceResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => write(req, reply, { kind: 'mirror', service: req.params.svc, mirror: req.body }, req.query),
  );

  app.delete<{ Params: SvcParamsT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/mirror',
    {
      schema: {
        summary: 'Stop mirroring (404 when the service has no mirror)',
        params: SvcParams,
        querystring: WriteQuery,
        response: { 200: ServiceResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => write(req, reply, { kind: 'mirror', service: req.params.svc, mirror: null }, req.query),
  );
}
