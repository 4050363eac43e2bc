import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Command } from '../model/index.js';
import { writeOptions } from './request-context.js';
import type { WriteFlags } from './request-context.js';
import type { RouteOptions } from './route-options.js';
import {
  CanaryBody,
  ErrorResponses,
  FlipBody,
  FlipQuery,
  ServiceResponse,
  ServicesResponse,
  SplitBody,
  SvcParams,
  WriteQuery,
} from './schemas.js';
import type { CanaryBodyT, FlipBodyT, FlipQueryT, ServiceAnswer, SplitBodyT, SvcParamsT, WriteQueryT } from './schemas.js';
import { sendState } from './state-access.js';
import type { StateAccess, Written } from './state-access.js';

/** Answers a write on a service with the service as the write left it. */
function sendService(access: StateAccess, reply: FastifyReply, name: string, written: Written, extra: Partial<ServiceAnswer> = {}): FastifyReply {
  const body: ServiceAnswer = {
    revision: written.state.revision,
    service: access.serviceView(name, written.state),
    ...(written.dryRun ? { dryRun: true } : {}),
    ...extra,
  };
  return access.sendWritten(reply, written, body);
}

/** `/v1/services` and the split of each: read, set, flip, canary, rollback. */
export async function serviceRoutes(app: FastifyInstance, { access, control }: RouteOptions): Promise<void> {
  /** A split command on a known service, answered with the service. */
  const splitWrite = async (req: FastifyRequest, reply: FastifyReply, cmd: Command, flags: WriteFlags): Promise<FastifyReply> => {
    access.service(cmd.service);
    return sendService(access, reply, cmd.service, await access.write(req, cmd, flags));
  };

  app.get(
    '/v1/services',
    { schema: { summary: 'All services with pools, split and backends', response: { 200: ServicesResponse, ...ErrorResponses } } },
    async (_req, reply) => {
      const { revision } = control.current;
      return sendState(reply, revision, { revision, services: access.services() });
    },
  );

  app.get<{ Params: SvcParamsT }>(
    '/v1/services/:svc',
    { schema: { summary: 'One service', params: SvcParams, response: { 200: ServiceResponse, ...ErrorResponses } } },
    async (req, reply) => {
      const { revision } = control.current;
      return sendState(reply, revision, { revision, service: access.serviceView(req.params.svc) });
    },
  );

  app.put<{ Params: SvcParamsT; Body: SplitBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/split',
    { schema: { summary: 'Set the split', params: SvcParams, body: SplitBody, querystring: WriteQuery, response: { 200: ServiceResponse, ...ErrorResponses } } },
    async (req, reply) => splitWrite(req, reply, { kind: 'split', service: req.params.svc, split: req.body.split }, req.query),
  );

  app.post<{ Params: SvcParamsT; Body: FlipBodyT; Querystring: FlipQueryT }>(
    '/v1/services/:svc/flip',
    {
      schema: {
        summary: 'Blue-green flip: 100 % to one pool; ?wait=drained answers once the pools that lost traffic have nothing in flight',
        params: SvcParams,
        body: FlipBody,
        querystring: FlipQuery,
        response: { 200: ServiceResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      const name = req.params.svc;
      access.service(name);
      const options = writeOptions(req, req.query);
      const r = await control.flipAndWait(name, req.body.to, { ...options, waitDrained: req.query.wait === 'drained' });
      const waited = r.drained !== undefined && r.inFlight !== undefined ? { drained: r.drained, inFlight: r.inFlight } : {};
      return sendService(access, reply, name, { state: r.state, dryRun: options.dryRun === true }, waited);
    },
  );

  app.post<{ Params: SvcParamsT; Body: CanaryBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/canary',
    {
      schema: {
        summary: 'Give one pool a share; the rest goes to the largest other pool',
        params: SvcParams,
        body: CanaryBody,
        querystring: WriteQuery,
        response: { 200: ServiceResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => splitWrite(req, reply, { kind: 'canary', service: req.params.svc, pool: req.body.pool, percent: req.body.percent }, req.query),
  );

  app.post<{ Params: SvcParamsT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/rollback',
    {
      schema: {
        summary: 'Restore the split before the last split change',
        params: SvcParams,
        querystring: WriteQuery,
        response: { 200: ServiceResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => splitWrite(req, reply, { kind: 'rollback', service: req.params.svc }, req.query),
  );
}
