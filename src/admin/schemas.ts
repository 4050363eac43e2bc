import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { BackendUrl, Duration, Name, Weight } from '../config/index.js';

/** One source of truth: these schemas validate requests, shape responses and make /openapi.json. */

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error', description: 'Every error: a stable code and a message' },
);

export const SplitSchema = Type.Record(Type.String(), Type.Number({ minimum: 0, maximum: 100 }), {
  description: 'percent per pool, two decimals, summing to 100',
});

export const DrainView = Type.Object({
  startedAt: Type.String(),
  deadline: Type.String(),
  inFlight: Type.Integer(),
  started: Type.Integer({ description: 'requests started on this backend since it was created' }),
});

export const BackendViewSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    weight: Type.Integer(),
    effectiveWeight: Type.Number({ description: 'weight the balancer uses now: 0 when not eligible, ramping during slow start' }),
    state: Type.Union([Type.Literal('active'), Type.Literal('draining'), Type.Literal('maint')]),
    health: Type.Union([Type.Literal('unknown'), Type.Literal('healthy'), Type.Literal('unhealthy')]),
    ejected: Type.Boolean(),
    inFlight: Type.Integer(),
    drain: Type.Optional(DrainView),
  },
  { $id: 'Backend' },
);

export const ServiceViewSchema = Type.Object(
  {
    name: Type.String(),
    split: SplitSchema,
    pools: Type.Record(Type.String(), Type.Object({ backends: Type.Array(Type.Ref('Backend')) })),
  },
  { $id: 'Service' },
);

export const Revision = Type.Integer({ minimum: 0, description: 'revision of the whole state; also in the ETag header' });

export const ServicesResponse = Type.Object({ revision: Revision, services: Type.Array(Type.Ref('Service')) });
export const ServiceResponse = Type.Object({
  revision: Revision,
  service: Type.Ref('Service'),
  dryRun: Type.Optional(Type.Boolean()),
  drained: Type.Optional(Type.Boolean({ description: 'flip ?wait=drained: the pools that lost traffic emptied before the timeout' })),
  inFlight: Type.Optional(Type.Integer({ description: 'flip ?wait=drained: requests still in flight on those pools' })),
});
export const BackendResponse = Type.Object({
  revision: Revision,
  backend: Type.Ref('Backend'),
  dryRun: Type.Optional(Type.Boolean()),
  removed: Type.Optional(Type.Boolean()),
});

export const HistoryResponse = Type.Object({
  revision: Revision,
  history: Type.Array(
    Type.Object({
      revision: Type.Integer(),
      time: Type.String(),
      actor: Type.String(),
      action: Type.String(),
      before: Type.Unknown(),
      after: Type.Unknown(),
    }),
  ),
});

export const EventsResponse = Type.Object({
  revision: Revision,
  events: Type.Array(
    Type.Object({
      time: Type.String(),
      type: Type.String(),
      pool: Type.Optional(Type.String()),
      backend: Type.Optional(Type.String()),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  ),
});

export const SvcParams = Type.Object({ svc: Name });
export const PoolParams = Type.Object({ svc: Name, pool: Name });
export const BackendParams = Type.Object({ svc: Name, pool: Name, id: Name });

const BoolQuery = Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')]);
export const WriteQuery = Type.Object({ dryRun: Type.Optional(BoolQuery), force: Type.Optional(BoolQuery) }, { additionalProperties: false });
export const FlipQuery = Type.Object(
  { dryRun: Type.Optional(BoolQuery), force: Type.Optional(BoolQuery), wait: Type.Optional(Type.Literal('drained')) },
  { additionalProperties: false },
);
export const DeleteQuery = Type.Object(
  { dryRun: Type.Optional(BoolQuery), timeout: Type.Optional(Duration), wait: Type.Optional(BoolQuery) },
  { additionalProperties: false },
);

export const SplitBody = Type.Object({ split: SplitSchema }, { additionalProperties: false });
export const FlipBody = Type.Object({ to: Name }, { additionalProperties: false });
export const CanaryBody = Type.Object(
  { pool: Name, percent: Type.Number({ minimum: 0, maximum: 100 }) },
  { additionalProperties: false },
);
export const RegisterBody = Type.Object(
  { id: Name, url: BackendUrl, weight: Type.Optional(Weight) },
  { additionalProperties: false },
);
export const PatchBody = Type.Object(
  {
    weight: Type.Optional(Weight),
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('maint'), Type.Literal('draining')])),
  },
  { additionalProperties: false, minProperties: 1 },
);

export type SplitBodyT = Static<typeof SplitBody>;
export type FlipBodyT = Static<typeof FlipBody>;
export type CanaryBodyT = Static<typeof CanaryBody>;
export type RegisterBodyT = Static<typeof RegisterBody>;
export type PatchBodyT = Static<typeof PatchBody>;
export type WriteQueryT = Static<typeof WriteQuery>;
export type FlipQueryT = Static<typeof FlipQuery>;
export type DeleteQueryT = Static<typeof DeleteQuery>;
