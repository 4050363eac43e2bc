import swagger from '@fastify/swagger';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { ForbiddenError, InvalidRequestError, NotFoundError, TurnoutError, UnauthorizedError } from '../errors.js';
import type { Command, ServiceRecord, StateSnapshot } from '../model/index.js';
import type { ControlPlane, ExecuteOptions, Runtime } from '../runtime/index.js';
import { parseDuration } from '../util/index.js';
import { TokenAuth } from './auth.js';
import { actorOf, parseIfMatch, truthy } from './request-context.js';
import type { Principal } from './auth.js';
import {
  BackendParams,
  BackendResponse,
  BackendViewSchema,
  CanaryBody,
  DeleteQuery,
  ErrorBody,
  EventsResponse,
  FlipBody,
  FlipQuery,
  HistoryResponse,
  PatchBody,
  PoolParams,
  RegisterBody,
  ServiceResponse,
  ServicesResponse,
  ServiceViewSchema,
  SplitBody,
  SvcParams,
  WriteQuery,
} from './schemas.js';
import type {
  CanaryBodyT,
  DeleteQueryT,
  FlipBodyT,
  FlipQueryT,
  PatchBodyT,
  RegisterBodyT,
  SplitBodyT,
  WriteQueryT,
} from './schemas.js';
import { docsPage } from './docs-page.js';

export interface AdminOptions {
  readonly config: Config;
  readonly runtime: Runtime;
  readonly control: ControlPlane;
  readonly logger: Logger;
  /** Readiness: false once shutdown began. */
  readonly isReady: () => boolean;
  /** Extra plugins (metrics, stream, dashboard) registered by later layers. */
  readonly extend?: (app: FastifyInstance) => void | Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const BODY_LIMIT = 1024 * 1024;
/** Longest `?timeout=` a deregistration takes (24h). */
const MAX_DRAIN_TIMEOUT_MS = 24 * 3_600_000;
const ERR = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 412: ErrorBody, 413: ErrorBody, 503: ErrorBody };

/** The admin API: fastify, bearer tokens, schemas for every body, param, query and response. */
export async function buildAdminApp(opts: AdminOptions): Promise<FastifyInstance> {
  const { runtime, control, config } = opts;
  // Tokens come from the config alone: `turnout serve` adds TURNOUT_ADMIN_TOKEN to it.
  const auth = new TokenAuth(config.admin.tokens);

  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'admin' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // verbose: errors carry their schema, so a failed pattern can say what was expected in words.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, verbose: true } },
    return503OnClosing: false,
  });

  await app.register(swagger, {
    openapi: {
      // 3.1: its schemas are JSON Schema 2020-12, as TypeBox writes them (numeric exclusiveMinimum).
      openapi: '3.1.0',
      info: { title: 'turnout admin API', version: '1', description: 'Steer traffic: splits, flips, canaries, backends, drains.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.addSchema(BackendViewSchema);
  app.addSchema(ServiceViewSchema);
  app.addSchema(ErrorBody);

  app.setErrorHandler((err: FastifyError | TurnoutError, req, reply) => {
    let status: number;
    let body: { error: { code: string; message: string; details?: unknown } };
    if (err instanceof TurnoutError) {
      status = err.status;
      body = err.toJSON();
    } else if ((err as FastifyError).validation !== undefined) {
      status = 400;
      const v = (err as FastifyError).validation ?? [];
      const say = (e: (typeof v)[number] | undefined): string => {
        const described = (e as { parentSchema?: { description?: string } } | undefined)?.parentSchema?.description;
        return e?.keyword === 'pattern' && described !== undefined ? `must be ${described}` : (e?.message ?? 'is invalid');
      };
      body = {
        error: {
          code: 'invalid_request',
          message: `${(err as FastifyError).validationContext ?? 'request'}${v[0]?.instancePath ?? ''} ${say(v[0])}`,
          details: v.map((e) => ({ path: e.instancePath, message: say(e) })),
        },
      };
    } else if ((err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      body = { error: { code: 'payload_too_large', message: `request body is larger than ${BODY_LIMIT} bytes` } };
    } else if (typeof (err as FastifyError).statusCode === 'number' && ((err as FastifyError).statusCode as number) < 500) {
      status = (err as FastifyError).statusCode === 404 ? 404 : 400;
      body = { error: { code: status === 404 ? 'not_found' : 'invalid_request', message: err.message } };
    } else {
      status = 500;
      body = { error: { code: 'internal', message: 'internal error' } };
    }
    if (status >= 500) req.log.error({ err, route: req.routeOptions.url }, 'admin call failed');
    else req.log.info({ code: body.error.code, route: req.routeOptions.url, status }, body.error.message);
    void reply.code(status).header('cache-control', 'no-store').send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { code: 'not_found', message: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` } });
  });

  // Auth for /v1: bearer token, read tokens only read.
  app.addHook('onRequest', async (req) => {
    // Decide on the route the router matched, not the raw URL: the router decodes %-escapes, so
    // "/%76%31/services" reaches /v1/services and must not skip the token check.
    const path = req.routeOptions.url ?? req.url;
    if (!path.startsWith('/v1/') && path !== '/v1') {
      if (!(path.startsWith('/metrics') && config.admin.protectMetrics)) return;
    }
    const principal = auth.authenticate(req.headers.authorization);
    if (principal === undefined) throw new UnauthorizedError();
    if (principal.scope !== 'write' && req.method !== 'GET' && req.method !== 'HEAD') {
      throw new ForbiddenError(`token "${principal.name}" has read scope; writes need a write token`);
    }
    req.principal = principal;
  });


  const serviceView = (name: string, svc: ServiceRecord): unknown => {
    const pools: Record<string, { backends: unknown[] }> = {};
    for (const [p, pool] of Object.entries(svc.pools)) pools[p] = { backends: pool.backends.map((b) => runtime.viewOfRecord(name, b)) };
    return { name, split: svc.split, pools };
  };

  const getService = (state: StateSnapshot, name: string): ServiceRecord => {
    // Own properties only: "constructor" or "toString" are names nobody configured.
    const svc = Object.hasOwn(state.services, name) ? state.services[name] : undefined;
    if (svc === undefined || !Object.hasOwn(config.services, name)) throw new NotFoundError(`service "${name}" does not exist`);
    return svc;
  };

  const sendState = (reply: FastifyReply, revision: number, body: unknown, code = 200): FastifyReply =>
    reply.code(code).header('etag', `"${revision}"`).header('cache-control', 'no-store').send(body);

  const writeOptions = (req: FastifyRequest, q: { dryRun?: string | undefined; force?: string | undefined }): ExecuteOptions => ({
    actor: actorOf(req),
    ifMatch: parseIfMatch(req.headers['if-match']),
    dryRun: truthy(q.dryRun),
    force: truthy(q.force),
  });

  /** Runs a write command and answers with the service (or the backend). */
  const write = async (
    req: FastifyRequest,
    cmd: Command,
    q: { dryRun?: string | undefined; force?: string | undefined },
  ): Promise<{ state: StateSnapshot; dryRun: boolean; backendId?: string | undefined }> => {
    const result = await control.execute(cmd, writeOptions(req, q));
    return { state: result.state, dryRun: truthy(q.dryRun), backendId: result.backend?.id };
  };

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    if (!opts.isReady()) return reply.code(503).send({ status: 'shutting_down' });
    return { status: 'ready', revision: runtime.revision };
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(docsPage()));

  app.get(
    '/v1/services',
    { schema: { summary: 'All services with pools, split and backends', response: { 200: ServicesResponse, ...ERR } } },
    async (_req, reply) => {
      const state = control.current;
      const services = Object.entries(state.services)
        .filter(([name]) => config.services[name] !== undefined)
        .map(([name, svc]) => serviceView(name, svc));
      return sendState(reply, state.revision, { revision: state.revision, services });
    },
  );

  app.get<{ Params: { svc: string } }>(
    '/v1/services/:svc',
    { schema: { summary: 'One service', params: SvcParams, response: { 200: ServiceResponse, ...ERR } } },
    async (req, reply) => {
      const state = control.current;
      const svc = getService(state, req.params.svc);
      return sendState(reply, state.revision, { revision: state.revision, service: serviceView(req.params.svc, svc) });
    },
  );

  const answerService = (reply: FastifyReply, name: string, r: { state: StateSnapshot; dryRun: boolean }, extra: Record<string, unknown> = {}): FastifyReply => {
    const svc = getService(r.state, name);
    const body = { revision: r.state.revision, service: serviceView(name, svc), ...(r.dryRun ? { dryRun: true } : {}), ...extra };
    return sendState(reply, r.dryRun ? control.current.revision : r.state.revision, body);
  };

  app.put<{ Params: { svc: string }; Body: SplitBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/split',
    { schema: { summary: 'Set the split', params: SvcParams, body: SplitBody, querystring: WriteQuery, response: { 200: ServiceResponse, ...ERR } } },
    async (req, reply) => {
      getService(control.current, req.params.svc);
      const r = await write(req, { kind: 'split', service: req.params.svc, split: req.body.split }, req.query);
      return answerService(reply, req.params.svc, r);
    },
  );

  app.post<{ Params: { svc: string }; Body: FlipBodyT; Querystring: FlipQueryT }>(
    '/v1/services/:svc/flip',
    {
      schema: {
        summary: 'Blue-green flip: 100 % to one pool; ?wait=drained answers once the pools that lost traffic have nothing in flight',
        params: SvcParams,
        body: FlipBody,
        querystring: FlipQuery,
        response: { 200: ServiceResponse, ...ERR },
      },
    },
    async (req, reply) => {
      const name = req.params.svc;
      getService(control.current, name);
      const dryRun = truthy(req.query.dryRun);
      const r = await control.flipAndWait(name, req.body.to, { ...writeOptions(req, req.query), waitDrained: req.query.wait === 'drained' });
      const extra = r.drained === undefined ? {} : { drained: r.drained, inFlight: r.inFlight };
      return answerService(reply, name, { state: r.state, dryRun }, extra);
    },
  );

  app.post<{ Params: { svc: string }; Body: CanaryBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/canary',
    {
      schema: {
        summary: 'Give one pool a share; the rest goes to the largest other pool',
        params: SvcParams,
        body: CanaryBody,
        querystring: WriteQuery,
        response: { 200: ServiceResponse, ...ERR },
      },
    },
    async (req, reply) => {
      getService(control.current, req.params.svc);
      const r = await write(req, { kind: 'canary', service: req.params.svc, pool: req.body.pool, percent: req.body.percent }, req.query);
      return answerService(reply, req.params.svc, r);
    },
  );

  app.post<{ Params: { svc: string }; Querystring: WriteQueryT }>(
    '/v1/services/:svc/rollback',
    {
      schema: { summary: 'Restore the split before the last split change', params: SvcParams, querystring: WriteQuery, response: { 200: ServiceResponse, ...ERR } },
    },
    async (req, reply) => {
      getService(control.current, req.params.svc);
      const r = await write(req, { kind: 'rollback', service: req.params.svc }, req.query);
      return answerService(reply, req.params.svc, r);
    },
  );

  app.get<{ Params: { svc: string } }>(
    '/v1/services/:svc/history',
    { schema: { summary: 'The last 100 changes, newest first', params: SvcParams, response: { 200: HistoryResponse, ...ERR } } },
    async (req, reply) => {
      const state = control.current;
      const svc = getService(state, req.params.svc);
      return sendState(reply, state.revision, { revision: state.revision, history: [...svc.history].reverse() });
    },
  );

  app.get<{ Params: { svc: string } }>(
    '/v1/services/:svc/events',
    { schema: { summary: 'The last 200 local events with reasons, newest first', params: SvcParams, response: { 200: EventsResponse, ...ERR } } },
    async (req, reply) => {
      const state = control.current;
      getService(state, req.params.svc);
      return sendState(reply, state.revision, { revision: state.revision, events: [...runtime.events.list(req.params.svc)].reverse() });
    },
  );

  const backendOf = (state: StateSnapshot, svc: string, pool: string, id: string): { view: unknown } => {
    const s = getService(state, svc);
    const p = Object.hasOwn(s.pools, pool) ? s.pools[pool] : undefined;
    if (p === undefined) throw new NotFoundError(`pool "${pool}" does not exist in service "${svc}"`);
    const b = p.backends.find((x) => x.id === id);
    if (b === undefined) throw new NotFoundError(`backend "${id}" does not exist in ${svc}/${pool}`);
    return { view: runtime.viewOfRecord(svc, b) };
  };

  app.post<{ Params: { svc: string; pool: string }; Body: RegisterBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/pools/:pool/backends',
    {
      schema: {
        summary: 'Register a backend (201); 409 on a duplicate id',
        params: PoolParams,
        body: RegisterBody,
        querystring: WriteQuery,
        response: { 200: BackendResponse, 201: BackendResponse, ...ERR },
      },
    },
    async (req, reply) => {
      const { svc, pool } = req.params;
      const r = await write(
        req,
        { kind: 'register', service: svc, pool, backend: { id: req.body.id, url: req.body.url, weight: req.body.weight ?? 100 } },
        req.query,
      );
      const { view } = backendOf(r.state, svc, pool, req.body.id);
      return sendState(reply, r.dryRun ? control.current.revision : r.state.revision, { revision: r.state.revision, backend: view, ...(r.dryRun ? { dryRun: true } : {}) }, r.dryRun ? 200 : 201);
    },
  );

  app.get<{ Params: { svc: string; pool: string; id: string } }>(
    '/v1/services/:svc/pools/:pool/backends/:id',
    { schema: { summary: 'One backend, with drain progress when draining', params: BackendParams, response: { 200: BackendResponse, ...ERR } } },
    async (req, reply) => {
      const state = control.current;
      const { view } = backendOf(state, req.params.svc, req.params.pool, req.params.id);
      return sendState(reply, state.revision, { revision: state.revision, backend: view });
    },
  );

  app.patch<{ Params: { svc: string; pool: string; id: string }; Body: PatchBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/pools/:pool/backends/:id',
    {
      schema: {
        summary: 'Change weight, or state active/maint/draining (draining without removal)',
        params: BackendParams,
        body: PatchBody,
        querystring: WriteQuery,
        response: { 200: BackendResponse, ...ERR },
      },
    },
    async (req, reply) => {
      const { svc, pool, id } = req.params;
      const settings = runtime.serviceConfig(svc);
      let cmd: Command;
      if (req.body.state === 'draining') {
        if (req.body.weight !== undefined) throw new InvalidRequestError('set weight and state=draining in two calls');
        cmd = { kind: 'drain', service: svc, pool, id, deadlineMs: Date.now() + (settings?.drainTimeoutMs ?? 30_000), remove: false };
      } else {
        cmd = {
          kind: 'patch',
          service: svc,
          pool,
          id,
          ...(req.body.weight !== undefined ? { weight: req.body.weight } : {}),
          ...(req.body.state !== undefined ? { state: req.body.state } : {}),
        };
      }
      const r = await write(req, cmd, req.query);
      const { view } = backendOf(r.state, svc, pool, id);
      return sendState(reply, r.dryRun ? control.current.revision : r.state.revision, { revision: r.state.revision, backend: view, ...(r.dryRun ? { dryRun: true } : {}) });
    },
  );

  app.delete<{ Params: { svc: string; pool: string; id: string }; Querystring: DeleteQueryT }>(
    '/v1/services/:svc/pools/:pool/backends/:id',
    {
      schema: {
        summary: 'Deregister with drain: 202 with drain status; ?wait=true answers 200 once removed',
        params: BackendParams,
        querystring: DeleteQuery,
        response: { 200: BackendResponse, 202: BackendResponse, ...ERR },
      },
    },
    async (req, reply) => {
      const { svc, pool, id } = req.params;
      const settings = runtime.serviceConfig(svc);
      let timeoutMs = settings?.drainTimeoutMs ?? 30_000;
      if (req.query.timeout !== undefined) {
        const ms = parseDuration(req.query.timeout);
        // Timers overflow past ~24.8 days and fire at once: a huge timeout would cut the drain short.
        if (ms === undefined || ms > MAX_DRAIN_TIMEOUT_MS) throw new InvalidRequestError(`timeout must be a duration up to 24h, got "${req.query.timeout}"`);
        timeoutMs = ms;
      }
      const r = await write(req, { kind: 'drain', service: svc, pool, id, deadlineMs: Date.now() + timeoutMs, remove: true }, req.query);
      const { view } = backendOf(r.state, svc, pool, id);
      if (r.dryRun) return sendState(reply, control.current.revision, { revision: r.state.revision, backend: view, dryRun: true });
      if (!truthy(req.query.wait)) return sendState(reply, r.state.revision, { revision: r.state.revision, backend: view }, 202);
      let last = view as Record<string, unknown>;
      const removed = await runtime.waitFor(() => {
        const v = runtime.backendView(svc, id);
        if (v !== undefined) last = v as unknown as Record<string, unknown>;
        return v === undefined;
      }, Date.now() + timeoutMs + 5000);
      const state = control.current;
      return sendState(reply, state.revision, { revision: state.revision, backend: { ...last, inFlight: 0 }, removed }, removed ? 200 : 202);
    },
  );

  if (opts.extend !== undefined) await opts.extend(app);
  await app.ready();
  return app;
}
