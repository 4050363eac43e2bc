import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RolloutRecord } from '../model/index.js';
import type { RolloutAction, RolloutProgress } from '../rollout/index.js';
import { safeUrl } from '../rollout/index.js';
import { formatDuration } from '../util/index.js';
import { startOf } from './rollout-body.js';
import { actorOf, parseIfMatch, truthy } from './request-context.js';
import type { RouteOptions } from './route-options.js';
import { ErrorResponses, RolloutActionParams, RolloutResponse, RolloutStartBody, SvcParams, WriteQuery } from './schemas.js';
import type { RolloutAnswer, RolloutStartBodyT, RolloutViewT, SvcParamsT, WriteQueryT } from './schemas.js';
import { sendState } from './state-access.js';

/** The command that ends a pause step (or an operator's pause). */
export const continueWith = (service: string): string => `turnout rollout-resume ${service} (or POST /v1/services/${service}/rollouts/current/resume, or promote)`;

function view(service: string, r: RolloutRecord, progress: RolloutProgress | undefined): RolloutViewT {
  const g = r.gates;
  return {
    id: r.id,
    service,
    pool: r.pool,
    stablePool: r.stablePool,
    steps: [...r.steps],
    stepDuration: formatDuration(r.stepDurationMs),
    gates: {
      ...(g.maxErrorRate !== undefined ? { maxErrorRate: g.maxErrorRate } : {}),
      ...(g.maxP99Ms !== undefined ? { maxP99Ms: g.maxP99Ms } : {}),
      minRequests: g.minRequests,
      maxWait: formatDuration(g.maxWaitMs),
      ...(g.baseline !== undefined ? { baseline: g.baseline } : {}),
      ...(g.intervalMs !== undefined ? { interval: formatDuration(g.intervalMs) } : {}),
      ...(g.failureThreshold !== undefined ? { failureThreshold: g.failureThreshold } : {}),
      ...(g.metrics !== undefined ? { metrics: g.metrics.map((m) => ({ ...m })) } : {}),
    },
    strategy: r.strategy ?? 'canary',
    ...(r.pauses !== undefined ? { pauses: r.pauses.map((p) => ({ before: p.before, ...(p.ms !== undefined ? { duration: formatDuration(p.ms) } : {}) })) } : {}),
    ...(r.hold !== undefined
      ? { pause: { before: r.hold.before, ...(r.hold.untilMs !== undefined ? { until: new Date(r.hold.untilMs).toISOString() } : {}), continueWith: continueWith(service) } }
      : r.state === 'paused'
        ? { pause: { before: r.stepIndex, continueWith: continueWith(service) } }
        : {}),
    // Webhook URLs are shown as origin and path: a query string may carry a token.
    ...(r.webhooks !== undefined ? { webhooks: r.webhooks.map((w) => ({ name: w.name, type: w.type, url: safeUrl(w.url), timeout: formatDuration(w.timeoutMs) })) } : {}),
    ...(r.hookAnswers !== undefined ? { hookAnswers: r.hookAnswers.map((a) => ({ ...a })) } : {}),
    ...(r.mirror !== undefined ? { mirror: { percent: r.mirror.percent, duration: formatDuration(r.mirror.durationMs) } } : {}),
    ...(r.mirroring === true ? { mirroring: true } : {}),
    ...(r.failures !== undefined ? { failures: r.failures } : {}),
    ...(r.awaitingConfirmation === true ? { awaitingConfirmation: true } : {}),
    ...(r.failedRequests !== undefined ? { failedRequests: r.failedRequests } : {}),
    state: r.state,
    step: r.stepIndex + 1,
    percent: r.steps[r.stepIndex] ?? 0,
    stepStartedAt: new Date(r.stepStartedAtMs).toISOString(),
    startedAt: r.startedAt,
    ...(r.endedAt !== undefined ? { endedAt: r.endedAt } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    actor: r.actor,
    // A copy of plain data (the record's arrays are readonly).
    results: JSON.parse(JSON.stringify(r.results)) as RolloutViewT['results'],
    ...(progress !== undefined ? { progress: { ...progress.reading, stable: progress.stable, stepEndsAt: progress.stepEndsAt, leader: progress.leader } } : {}),
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
        summary: 'Start a rollout (one at a time per service): a canary whose steps raise the pool, gates guard each raise; or a blue-green flip with post-promotion gates',
        params: SvcParams,
        body: RolloutStartBody,
        querystring: WriteQuery,
        response: { 200: RolloutResponse, 201: RolloutResponse, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      const dryRun = truthy(req.query.dryRun);
      const r = await rollouts.begin(
        req.params.svc,
        startOf(req.body),
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
