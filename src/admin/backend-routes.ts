import type { FastifyInstance } from 'fastify';
import { InvalidRequestError } from '../errors.js';
import type { Command } from '../model/index.js';
import { parseDuration } from '../util/index.js';
import { truthy } from './request-context.js';
import type { RouteOptions } from './route-options.js';
import { BackendParams, BackendResponse, DeleteQuery, ErrorResponses, PatchBody, PoolParams, RegisterBody, WriteQuery } from './schemas.js';
import type { BackendAnswer, BackendParamsT, BackendView, DeleteQueryT, PatchBodyT, PoolParamsT, RegisterBodyT, WriteQueryT } from './schemas.js';
import { sendState } from './state-access.js';
import type { Written } from './state-access.js';

/** Longest `?timeout=` a deregistration takes (24h). */
const MAX_DRAIN_TIMEOUT_MS = 24 * 3_600_000;

/** The backends of a pool: register, read, change, deregister with drain. */
export async function backendRoutes(app: FastifyInstance, { access, runtime, control }: RouteOptions): Promise<void> {
  /** The backend as a write left it, with `dryRun` on a dry run. */
  const backendAnswer = (written: Written, svc: string, pool: string, id: string): BackendAnswer => ({
    revision: written.state.revision,
    backend: access.backendView(svc, pool, id, written.state),
    ...(written.dryRun ? { dryRun: true } : {}),
  });

  app.post<{ Params: PoolParamsT; Body: RegisterBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/pools/:pool/backends',
    {
      schema: {
        summary: 'Register a backend (201); 409 on a duplicate id',
        params: PoolParams,
        body: RegisterBody,
        querystring: WriteQuery,
        response: { 200: BackendResponse, 201: BackendResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      const { svc, pool } = req.params;
      const { id, url, weight } = req.body;
      const r = await access.write(req, { kind: 'register', service: svc, pool, backend: { id, url, weight: weight ?? 100 } }, req.query);
      return access.sendWritten(reply, r, backendAnswer(r, svc, pool, id), r.dryRun ? 200 : 201);
    },
  );

  app.get<{ Params: BackendParamsT }>(
    '/v1/services/:svc/pools/:pool/backends/:id',
    { schema: { summary: 'One backend, with drain progress when draining', params: BackendParams, response: { 200: BackendResponse, ...ErrorResponses } } },
    async (req, reply) => {
      const { svc, pool, id } = req.params;
      const { revision } = control.current;
      return sendState(reply, revision, { revision, backend: access.backendView(svc, pool, id) });
    },
  );

  app.patch<{ Params: BackendParamsT; Body: PatchBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/pools/:pool/backends/:id',
    {
      schema: {
        summary: 'Change weight, or state active/maint/draining (draining without removal)',
        params: BackendParams,
        body: PatchBody,
        querystring: WriteQuery,
        response: { 200: BackendResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      const { svc, pool, id } = req.params;
      const { weight, state } = req.body;
      let cmd: Command;
      if (state === 'draining') {
        if (weight !== undefined) throw new InvalidRequestError('set weight and state=draining in two calls');
        cmd = { kind: 'drain', service: svc, pool, id, deadlineMs: Date.now() + access.drainTimeoutMs(svc), remove: false };
      } else {
        cmd = { kind: 'patch', service: svc, pool, id, ...(weight !== undefined ? { weight } : {}), ...(state !== undefined ? { state } : {}) };
      }
      const r = await access.write(req, cmd, req.query);
      return access.sendWritten(reply, r, backendAnswer(r, svc, pool, id));
    },
  );

  app.delete<{ Params: BackendParamsT; Querystring: DeleteQueryT }>(
    '/v1/services/:svc/pools/:pool/backends/:id',
    {
      schema: {
        summary: 'Deregister with drain: 202 with drain status; ?wait=true answers 200 once removed',
        params: BackendParams,
        querystring: DeleteQuery,
        response: { 200: BackendResponse, 202: BackendResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      const { svc, pool, id } = req.params;
      const timeoutMs = req.query.timeout === undefined ? access.drainTimeoutMs(svc) : drainTimeoutOf(req.query.timeout);
      const r = await access.write(req, { kind: 'drain', service: svc, pool, id, deadlineMs: Date.now() + timeoutMs, remove: true }, req.query);
      const answer = backendAnswer(r, svc, pool, id);
      if (r.dryRun || !truthy(req.query.wait)) return access.sendWritten(reply, r, answer, r.dryRun ? 200 : 202);
      let last: BackendView = answer.backend;
      const removed = await runtime.waitFor(() => {
        const v = runtime.backendView(svc, id);
        if (v !== undefined) last = v;
        return v === undefined;
      }, Date.now() + timeoutMs + 5000);
      const { revision } = control.current;
      return sendState(reply, revision, { revision, backend: { ...last, inFlight: 0 }, removed }, removed ? 200 : 202);
    },
  );
}

/** `?timeout=` of a deregistration in milliseconds; 400 past 24h. */
function drainTimeoutOf(timeout: string): number {
  const ms = parseDuration(timeout);
  // Timers overflow past ~24.8 days and fire at once: a huge timeout would cut the drain short.
  if (ms === undefined || ms > MAX_DRAIN_TIMEOUT_MS) throw new InvalidRequestError(`timeout must be a duration up to 24h, got "${timeout}"`);
  return ms;
}
