import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RolloutRecord } from '../model/index.js';
import type { RolloutAction, RolloutProgress } from '../rollout/index.js';
import { formatDuration, parseDuration } from '../util/index.js';
import { actorOf, parseIfMatch, truthy } from './request-context.js';
import type { RouteOptions } from './route-options.js';
import { ErrorResponses, RolloutActionParams, RolloutResponse, RolloutStartBody, SvcParams, WriteQuery } from './schemas.js';
import type { RolloutAnswer, RolloutStartBodyT, RolloutViewT, SvcParamsT, WriteQueryT } from './schemas.js';
import { sendState } from './state-access.js';

function view(service: string, r: RolloutRecord, progress: RolloutProgress | undefined): RolloutViewT {
  return {
    id: r.id,
    service,
    pool: r.pool,
    stablePool: r.stablePool,
    steps: [...r.steps],
    stepDuration: formatDuration(r.stepDurationMs),
    gates: {
      maxErrorRate: r.gates.maxErrorRate,
      ...(r.gates.maxP99Ms !== undefined ? { maxP99Ms: r.gates.maxP99Ms } : {}),
      minRequests: r.gates.minRequests,
      maxWait: formatDuration(r.gates.maxWaitMs),
    },
    state: r.state,
    step: r.stepIndex + 1,
    percent: r.steps[r.stepIndex] ?? 0,
    stepStartedAt: new Date(r.stepStartedAtMs).toISOString(),
    startedAt: r.startedAt,
    ...(r.endedAt !== undefined ? { endedAt: r.endedAt } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    actor: r.actor,
    results: [...r.results],
    ...(progress !== undefined ? { progress: { ...progress.reading, stepEndsAt: progress.stepEndsAt, leader: progress.leader } } : {}),
  };
}

/** The automated canary API: start one per service, watch it, steer it. */
export async function rolloutRoutes(app: FastifyInstance, { control, rollouts }: RouteOptions): Promise<void> {
  const answer = (reply: FastifyReply, service: string, r: RolloutRecord, dryRun: boolean, code = 200): FastifyReply => {
    const revision = control.current.revision;
    const body: RolloutAnswer = {
      // A dry run of a start or an action would write the next revision.
      revision: dryRun ? revision + 1 : revision,
      rollout: view(service, r, dryRun ? undefined : rollouts.progress(service)),
      ...(dryRun ? { dryRun: true } : {}),
    };
    return sendState(reply, revision, body, code);
  };

  app.post<{ Params: SvcParamsT; Body: RolloutStartBodyT; Querystring: WriteQueryT }>(
    '/v1/services/:svc/rollouts',
    {
      schema: {
        summary: 'Start an automated canary (one at a time per service): steps raise the pool, gates guard each raise',
        params: SvcParams,
        body: RolloutStartBody,
        querystring: WriteQuery,
        response: { 200: RolloutResponse, 201: RolloutResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      const g = req.body.gates;
      const maxWaitMs = g?.maxWait !== undefined ? parseDuration(g.maxWait) : undefined;
      const dryRun = truthy(req.query.dryRun);
      const r = await rollouts.begin(
        req.params.svc,
        {
          pool: req.body.pool,
          steps: req.body.steps,
          stepDurationMs: parseDuration(req.body.stepDuration) ?? 60_000,
          gates: {
            ...(g?.maxErrorRate !== undefined ? { maxErrorRate: g.maxErrorRate } : {}),
            ...(g?.maxP99Ms !== undefined ? { maxP99Ms: g.maxP99Ms } : {}),
            ...(g?.minRequests !== undefined ? { minRequests: g.minRequests } : {}),
            ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
          },
        },
        actorOf(req),
        { dryRun, force: truthy(req.query.force), ifMatch: parseIfMatch(req.headers['if-match']) },
      );
      return answer(reply, req.params.svc, r, dryRun, dryRun ? 200 : 201);
    },
  );

  app.get<{ Params: SvcParamsT }>(
    '/v1/services/:svc/rollouts/current',
    { schema: { summary: 'The current (or last) rollout with live gate readings', params: SvcParams, response: { 200: RolloutResponse, ...ErrorResponses } } },
    async (req, reply) => answer(reply, req.params.svc, rollouts.current(req.params.svc), false),
  );

  app.post<{ Params: { svc: string; action: RolloutAction }; Querystring: WriteQueryT }>(
    '/v1/services/:svc/rollouts/current/:action',
    {
      schema: {
        summary: 'pause, resume, promote (canary to 100 %) or abort (back to the stable pool) the current rollout',
        params: RolloutActionParams,
        querystring: WriteQuery,
        response: { 200: RolloutResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      const dryRun = truthy(req.query.dryRun);
      const r = await rollouts.act(req.params.svc, req.params.action, actorOf(req), { dryRun, ifMatch: parseIfMatch(req.headers['if-match']) });
      return answer(reply, req.params.svc, r, dryRun);
    },
  );
}
