import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { Duration, Name } from '../config/index.js';

/** The rollout API's schemas (re-exported by schemas.ts): the start body and the rollout's view. */

const PoolReadingSchema = Type.Object({ requests: Type.Integer(), errors: Type.Integer(), p99Ms: Type.Number() });
const WebhookAnswerSchema = Type.Object({
  name: Type.String(),
  type: Type.String(),
  status: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.String()),
  ms: Type.Number(),
  at: Type.Optional(Type.String()),
});
const StepResultSchema = Type.Object({
  step: Type.Integer(),
  percent: Type.Number(),
  requests: Type.Integer(),
  errorRate: Type.Number(),
  p99Ms: Type.Number(),
  passed: Type.Boolean(),
  at: Type.String(),
  reason: Type.Optional(Type.String()),
  readings: Type.Optional(
    Type.Object({
      canary: PoolReadingSchema,
      stable: Type.Optional(PoolReadingSchema),
      metrics: Type.Optional(
        Type.Array(
          Type.Object({ name: Type.String(), value: Type.Optional(Type.Number()), error: Type.Optional(Type.String()), min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) }),
        ),
      ),
      webhooks: Type.Optional(Type.Array(WebhookAnswerSchema)),
    }),
  ),
});

export const WebhookTypeSchema = Type.Union(['pre-rollout', 'rollout', 'confirm-promotion', 'post-rollout', 'rollback', 'event'].map((t) => Type.Literal(t)));
const WebhookUrl = Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048, description: 'an http:// or https:// URL' });
const WebhookSchema = Type.Object(
  {
    name: Name,
    type: WebhookTypeSchema,
    url: WebhookUrl,
    timeout: Type.Optional(Duration),
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1024 }), { maxProperties: 20 })),
  },
  { additionalProperties: false },
);
const MetricGateSchema = Type.Object(
  { name: Name, query: Type.String({ minLength: 1, maxLength: 4096 }), min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) },
  { additionalProperties: false },
);
const GatesSchema = Type.Object(
  {
    maxErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    maxP99Ms: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    minRequests: Type.Optional(Type.Integer({ minimum: 0 })),
    maxWait: Type.Optional(Duration),
    baseline: Type.Optional(
      Type.Object(
        { maxErrorRateIncrease: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })), maxP99Ratio: Type.Optional(Type.Number({ minimum: 1 })) },
        { additionalProperties: false },
      ),
    ),
    interval: Type.Optional(Duration),
    failureThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    metrics: Type.Optional(Type.Array(MetricGateSchema, { maxItems: 10 })),
  },
  { additionalProperties: false },
);
const PauseStep = Type.Object({ pause: Type.Union([Duration, Type.Literal(true)]) }, { additionalProperties: false });

export const RolloutView = Type.Object({
  id: Type.String(),
  service: Type.String(),
  pool: Type.String(),
  stablePool: Type.String(),
  steps: Type.Array(Type.Number()),
  stepDuration: Type.String(),
  gates: Type.Object({
    maxErrorRate: Type.Optional(Type.Number()),
    maxP99Ms: Type.Optional(Type.Number()),
    minRequests: Type.Integer(),
    maxWait: Type.String(),
    baseline: Type.Optional(Type.Object({ maxErrorRateIncrease: Type.Optional(Type.Number()), maxP99Ratio: Type.Optional(Type.Number()) })),
    interval: Type.Optional(Type.String()),
    failureThreshold: Type.Optional(Type.Integer()),
    metrics: Type.Optional(Type.Array(Type.Object({ name: Type.String(), query: Type.String(), min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) }))),
  }),
  strategy: Type.Union([Type.Literal('canary'), Type.Literal('blueGreen')]),
  pauses: Type.Optional(Type.Array(Type.Object({ before: Type.Integer({ description: '0-based index of the step it holds before (steps.length: before the promotion)' }), duration: Type.Optional(Type.String()) }))),
  pause: Type.Optional(
    Type.Object({ before: Type.Integer(), until: Type.Optional(Type.String()), continueWith: Type.String({ description: 'the command that ends the pause' }) }, { description: 'while a pause step holds' }),
  ),
  webhooks: Type.Optional(Type.Array(Type.Object({ name: Type.String(), type: Type.String(), url: Type.String({ description: 'origin and path only' }), timeout: Type.String() }))),
  hookAnswers: Type.Optional(Type.Array(WebhookAnswerSchema)),
  mirror: Type.Optional(Type.Object({ percent: Type.Number(), duration: Type.String() })),
  mirroring: Type.Optional(Type.Boolean({ description: 'the mirror-first phase runs: checks judge the mirrored answers' })),
  failures: Type.Optional(Type.Integer({ description: 'failed checks in a row' })),
  awaitingConfirmation: Type.Optional(Type.Boolean()),
  failedRequests: Type.Optional(Type.Integer({ description: 'errors of the canary pool summed over the checks' })),
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
      stable: Type.Optional(PoolReadingSchema),
      stepEndsAt: Type.String(),
      leader: Type.Boolean(),
    }),
  ),
});

export const RolloutStartBody = Type.Object(
  {
    pool: Name,
    strategy: Type.Optional(Type.Union([Type.Literal('canary'), Type.Literal('blueGreen')])),
    // The bounds apply to the percents; a pause step is an object.
    steps: Type.Optional(Type.Array(Type.Union([Type.Number(), PauseStep], { type: ['number', 'object'], exclusiveMinimum: 0, maximum: 100 }), { minItems: 1, maxItems: 20 })),
    stepDuration: Type.Optional(Duration),
    gates: Type.Optional(GatesSchema),
    webhooks: Type.Optional(Type.Array(WebhookSchema, { maxItems: 20 })),
    postPromotion: Type.Optional(Type.Object({ duration: Duration, gates: Type.Optional(GatesSchema) }, { additionalProperties: false })),
    mirror: Type.Optional(
      Type.Object(
        { percent: Type.Number({ exclusiveMinimum: 0, maximum: 100 }), duration: Duration },
        { additionalProperties: false, description: 'mirror first: copies of live traffic to the pool before step 1, gated like a step' },
      ),
    ),
  },
  { additionalProperties: false },
);

export type RolloutGatesBodyT = Static<typeof GatesSchema>;
