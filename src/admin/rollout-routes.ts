import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Duration, Name } from '../config/index.js';
import type { RolloutRecord } from '../model/index.js';
import type { RolloutAction, RolloutController, RolloutProgress } from '../rollout/index.js';
import type { ControlPlane } from '../runtime/index.js';
import { formatDuration, parseDuration } from '../util/index.js';
import { actorOf, parseIfMatch, truthy } from './request-context.js';
import { ErrorBody, SvcParams, WriteQuery } from './schemas.js';

const StepResultSchema = Type.Object({
  step: Type.Integer(),
  percent: Type.Number(),
  requests: Type.Integer(),
  errorRate: Type.Number(),
  p99Ms: Type.Number(),
  passed: Type.Boolean(),
  at: Type.String(),
});

const RolloutView = Type.Object({
  id: Type.String(),
  service: Type.String(),
  pool: Type.String(),
  stablePool: Type.String(),
  steps: Type.Array(Type.Number()),
  stepDuration: Type.String(),
  gates: Type.Object({
    maxErrorRate: Type.Number(),
    maxP99Ms: Type.Optional(Type.Number()),
    minRequests: Type.Integer(),
    maxWait: Type.String(),
  }),
  state: Type.Union(['running', 'paused', 'promoted', 'rolled_back', 'aborted'].map((s) => Type.Literal(s))),
  step: Type.Integer({ description: '1-based index of the step the canary holds' }),
  percent: Type.Number({ description: 'share of the canary pool at this step' }),
  stepStartedAt: Type.String(),
  startedAt: Type.String(),
  endedAt: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  actor: Type.String(),
  results: Type.Array(StepResultSchema),
  progress: Type.Optional(
    Type.Object({
      requests: Type.Integer(),
      errors: Type.Integer(),
      errorRate: Type.Number(),
      p99Ms: Type.Number(),
      stepEndsAt: Type.String(),
      leader: Type.Boolean(),
    }),
  ),
});

const RolloutResponse = Type.Object({ revision: Type.Integer(), rollout: RolloutView, dryRun: Type.Optional(Type.Boolean()) });

const StartBody = Type.Object(
  {
    pool: Name,
    steps: Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 100 }), { minItems: 1, maxItems: 20 }),
    stepDuration: Duration,
    gates: Type.Optional(
      Type.Object(
        {
          maxErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          maxP99Ms: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          minRequests: Type.Optional(Type.Integer({ minimum: 0 })),
          maxWait: Type.Optional(Duration),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
type StartBodyT = Static<typeof StartBody>;

const ActionParams = Type.Object({ svc: Name, action: Type.Union(['pause', 'resume', 'promote', 'abort'].map((a) => Type.Literal(a))) });
const ERR = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 412: ErrorBody, 503: ErrorBody };

function view(service: string, r: RolloutRecord, progress: RolloutProgress | undefined): Static<typeof RolloutView> {
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
export function registerRollouts(app: FastifyInstance, control: ControlPlane, rollouts: RolloutController): void {
  const answer = (reply: FastifyReply, service: string, r: RolloutRecord, dryRun: boolean, code = 200): FastifyReply => {
    const revision = control.current.revision;
    return reply
      .code(code)
      .header('etag', `"${revision}"`)
      .header('cache-control', 'no-store')
      .send({ revision: dryRun ? revision + 1 : revision, rollout: view(service, r, dryRun ? undefined : rollouts.progress(service)), ...(dryRun ? { dryRun: true } : {}) });
  };

  app.post<{ Params: { svc: string }; Body: StartBodyT; Querystring: { dryRun?: string; force?: string } }>(
    '/v1/services/:svc/rollouts',
    {
      schema: {
        summary: 'Start an automated canary (one at a time per service): steps raise the pool, gates guard each raise',
        params: SvcParams,
        body: StartBody,
        querystring: WriteQuery,
        response: { 200: RolloutResponse, 201: RolloutResponse, ...ERR },
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

  app.get<{ Params: { svc: string } }>(
    '/v1/services/:svc/rollouts/current',
    { schema: { summary: 'The current (or last) rollout with live gate readings', params: SvcParams, response: { 200: RolloutResponse, ...ERR } } },
    async (req, reply) => answer(reply, req.params.svc, rollouts.current(req.params.svc), false),
  );

  app.post<{ Params: { svc: string; action: RolloutAction }; Querystring: { dryRun?: string } }>(
    '/v1/services/:svc/rollouts/current/:action',
    {
      schema: {
        summary: 'pause, resume, promote (canary to 100 %) or abort (back to the stable pool) the current rollout',
        params: ActionParams,
        querystring: WriteQuery,
        response: { 200: RolloutResponse, ...ERR },
      },
    },
    async (req, reply) => {
      const dryRun = truthy(req.query.dryRun);
      const r = await rollouts.act(req.params.svc, req.params.action, actorOf(req), { dryRun, ifMatch: parseIfMatch(req.headers['if-match']) });
      return answer(reply, req.params.svc, r, dryRun);
    },
  );
}
