import swagger from '@fastify/swagger';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import { TokenAuth } from './auth.js';
import type { Principal } from './auth.js';
import { backendRoutes } from './backend-routes.js';
import { dashboardRoute } from './dashboard-route.js';
import { docsRoutes } from './docs-routes.js';
import { adminErrorHandler, adminNotFoundHandler } from './error-handler.js';
import { configRoutes } from './config-routes.js';
import { fleetRoute } from './fleet-route.js';
import { historyRoutes } from './history-routes.js';
import { lingerOnClose } from './linger.js';
import { metricsRoute } from './metrics-route.js';
import { probeRoutes } from './probe-routes.js';
import { mirrorRoutes } from './mirror-routes.js';
import { rolloutRoutes } from './rollout-routes.js';
import type { AdminOptions, RouteOptions } from './route-options.js';
import { BackendViewSchema, ErrorBody, ServiceViewSchema } from './schemas.js';
import { serviceRoutes } from './service-routes.js';
import { StateAccess } from './state-access.js';
import { streamRoute } from './stream-route.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const BODY_LIMIT = 1024 * 1024;

/** Every route of the admin listener, one plugin per resource, each registered the same way. */
const ROUTES = [probeRoutes, docsRoutes, dashboardRoute, metricsRoute, serviceRoutes, historyRoutes, backendRoutes, rolloutRoutes, configRoutes, fleetRoute, streamRoute, mirrorRoutes];

/**
 * The admin API: fastify, bearer tokens, schemas for every body, param, query and response. What
 * every route shares is set here, on the root (auth, errors, the admin-call counter, the shared
 * schemas), so that each route plugin inherits it.
 */
export async function buildAdminApp(opts: AdminOptions): Promise<FastifyInstance> {
  const { config, telemetry } = opts;
  const auth = new TokenAuth(config.admin.tokens);

  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'admin' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // verbose: errors carry their schema, so a failed pattern can say what was expected in words.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, verbose: true, allowUnionTypes: true } },
    return503OnClosing: false,
  });
  // An early answer (401, 403, 404, 413) reaches a client still sending its body.
  lingerOnClose(app.server);

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
  app.setErrorHandler(adminErrorHandler(BODY_LIMIT));
  app.setNotFoundHandler(adminNotFoundHandler);

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

  // Once turnout stops (readiness off), every answer closes its connection: a call answered after
  // close() began (a flip ?wait=drained, a DELETE ?wait=true) would otherwise leave an idle
  // keep-alive connection that close() waits for until its keep-alive timeout.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (!opts.isReady()) reply.header('connection', 'close');
    return payload;
  });

  // turnout_admin_requests_total{route,code}: every admin call but the scrapes themselves.
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    telemetry.onAdminRequest(route, reply.statusCode);
  });

  const routeOptions: RouteOptions = { ...opts, access: new StateAccess(opts.runtime, opts.control) };
  for (const routes of ROUTES) await app.register(routes, routeOptions);
  await app.ready();
  return app;
}
