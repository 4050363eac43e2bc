import type { FastifyInstance } from 'fastify';
import { ConflictError, RevisionMismatchError } from '../errors.js';
import { actorOf, parseIfMatch, truthy } from './request-context.js';
import type { RouteOptions } from './route-options.js';
import { ErrorResponses, ReloadQuery, ReloadResponse } from './schemas.js';
import type { ReloadQueryT } from './schemas.js';
import { sendState } from './state-access.js';

/**
 * `POST /v1/config/reload`: read the config file again and apply it. Answers the revision served
 * and the changes; 400 config_invalid (with the key-path problems) or 409 (a key only a restart
 * applies, a listener address that cannot be bound) change nothing. A write: write tokens only,
 * `If-Match`, and `?dryRun=true` (check and compare the file, apply nothing).
 */
export async function configRoutes(app: FastifyInstance, { reload, control, logger }: RouteOptions): Promise<void> {
  app.post<{ Querystring: ReloadQueryT }>(
    '/v1/config/reload',
    {
      schema: {
        summary: 'Apply the config file again: services, routes, settings, listener address and TLS files',
        querystring: ReloadQuery,
        response: { 200: ReloadResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      if (reload === undefined) throw new ConflictError('this process cannot reload its config');
      const ifMatch = parseIfMatch(req.headers['if-match']);
      if (ifMatch !== undefined && ifMatch !== control.current.revision) throw new RevisionMismatchError(ifMatch, control.current.revision);
      const dryRun = truthy(req.query.dryRun);
      const answer = await reload({ dryRun });
      if (!dryRun) logger.info({ actor: actorOf(req), changes: answer.changes.length, revision: answer.revision }, 'config reloaded through the admin API');
      return sendState(reply, answer.revision, answer);
    },
  );
}
