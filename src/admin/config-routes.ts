import type { FastifyInstance } from 'fastify';
import { ConflictError, RevisionMismatchError } from '../errors.js';
import { actorOf, parseIfMatch, truthy } from './request-context.js';
import type { RouteOptions } from './route-options.js';
import { ErrorResponses, ReloadQuery, ReloadResponse, UpgradeQuery, UpgradeResponse } from './schemas.js';
import type { ReloadQueryT, UpgradeQueryT } from './schemas.js';
import { sendState } from './state-access.js';

/**
 * `POST /v1/config/reload`: read the config file again and apply it. Answers the revision served
 * and the changes; 400 config_invalid (with the key-path problems) or 409 (a key only a restart
 * applies, a listener address that cannot be bound) change nothing. A write: write tokens only,
 * `If-Match`, and `?dryRun=true` (check and compare the file, apply nothing).
 */
export async function configRoutes(app: FastifyInstance, { reload, upgrade, control, logger }: RouteOptions): Promise<void> {
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

  /**
   * `POST /v1/upgrade[?wait=drained][&supervisor=true]`: new workers start from the code on disk
   * (with supervisor=true, a new supervisor too, which gets the listening sockets); once they
   * serve, the old ones drain and exit. 202 at once, or 200 once the old ones exited with wait=drained.
   */
  app.post<{ Querystring: UpgradeQueryT }>(
    '/v1/upgrade',
    {
      schema: {
        summary: 'Replace the worker processes with new ones from the code on disk, without refusing a connection',
        querystring: UpgradeQuery,
        response: { 200: UpgradeResponse, 202: UpgradeResponse, ...ErrorResponses, 500: ErrorResponses[409] },
      },
    },
    async (req, reply) => {
      if (upgrade === undefined) throw new ConflictError('the data plane runs in the supervisor process itself (no workers): an upgrade needs a restart');
      const ifMatch = parseIfMatch(req.headers['if-match']);
      if (ifMatch !== undefined && ifMatch !== control.current.revision) throw new RevisionMismatchError(ifMatch, control.current.revision);
      const wait = req.query.wait === 'drained';
      if (truthy(req.query.dryRun)) return sendState(reply, control.current.revision, { generation: 0, started: [], replaced: [], dryRun: true });
      const answer = await upgrade({ wait, supervisor: truthy(req.query.supervisor) });
      logger.info({ actor: actorOf(req), ...answer }, answer.supervisor !== undefined ? 'supervisor upgraded through the admin API' : 'workers upgraded through the admin API');
      if (!wait) reply.code(202);
      return sendState(reply, control.current.revision, answer);
    },
  );
}
