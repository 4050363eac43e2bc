import { Type } from '@sinclair/typebox';
import type { Static, TSchema, TUnsafe } from '@sinclair/typebox';
import { BackendUrl, Duration, MirrorConfig, Name, Weight } from '../config/index.js';
import { RolloutStartBody, RolloutView } from './rollout-schemas.js';

export { RolloutStartBody, RolloutView, WebhookTypeSchema } from './rollout-schemas.js';

/**
 * One source of truth: these schemas validate requests, shape responses, make /openapi.json and
 * type the views the routes build (`Static<>`), down to the dashboard's JSDoc.
 */

/** A `$ref` to a schema the app adds by its `$id`, typed as that schema. */
function refTo<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new Error('refTo needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}

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
    pools: Type.Record(Type.String(), Type.Object({ backends: Type.Array(refTo(BackendViewSchema)) })),
    mirror: Type.Optional(Type.Required(MirrorConfig, { description: 'where copies of a share of its requests go (SPEC "Mirroring"), defaults filled in' })),
  },
  { $id: 'Service' },
);

export const Revision = Type.Integer({ minimum: 0, description: 'revision of the whole state; also in the ETag header' });

export const ServicesResponse = Type.Object({ revision: Revision, services: Type.Array(refTo(ServiceViewSchema)) });
export const ServiceResponse = Type.Object({
  revision: Revision,
  service: refTo(ServiceViewSchema),
  dryRun: Type.Optional(Type.Boolean()),
  drained: Type.Optional(Type.Boolean({ description: 'flip ?wait=drained: the pools that lost traffic emptied before the timeout' })),
  inFlight: Type.Optional(Type.Integer({ description: 'flip ?wait=drained: requests still in flight on those pools' })),
});
export const BackendResponse = Type.Object({
  revision: Revision,
  backend: refTo(BackendViewSchema),
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

export const EventSchema = Type.Object({
  time: Type.String(),
  type: Type.String({ description: 'health | ejected | ejection_end | drain_start | drain_deadline | drain_end | drain_cancelled | retries_exhausted' }),
  pool: Type.Optional(Type.String()),
  backend: Type.Optional(Type.String()),
  message: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export const EventsResponse = Type.Object({ revision: Revision, events: Type.Array(EventSchema) });

export const RolloutResponse = Type.Object({ revision: Revision, rollout: RolloutView, dryRun: Type.Optional(Type.Boolean()) });

const PoolCountsSchema = Type.Object({ requests: Type.Integer(), errors: Type.Integer(), p99Ms: Type.Number() });
export const FleetInstanceSchema = Type.Object({
  id: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  startedAt: Type.String(),
  revision: Type.Integer({ description: 'revision of the state this instance has applied' }),
  seenAt: Type.String({ description: 'its last heartbeat' }),
  pools: Type.Optional(Type.Record(Type.String(), PoolCountsSchema, { description: 'fleet stores: its cumulative counts per service/pool, which rollout gates add up' })),
  workers: Type.Optional(
    Type.Array(
      Type.Object({
        pid: Type.Integer(),
        generation: Type.Integer({ description: '1 at start, one more with every upgrade' }),
        state: Type.Union([Type.Literal('starting'), Type.Literal('serving'), Type.Literal('draining'), Type.Literal('orphaned')]),
        startedAt: Type.String(),
        revision: Type.Integer({ description: 'revision of the state this worker has applied' }),
        connections: Type.Object({ total: Type.Integer(), open: Type.Integer() }, { description: 'client connections handed to it since it started, and open now' }),
        inFlight: Type.Integer(),
      }),
      { description: 'its worker processes (turnout serve runs the data plane in workers)' },
    ),
  ),
});
export const FleetResponse = Type.Object({
  revision: Revision,
  store: Type.Union([Type.Literal('memory'), Type.Literal('file'), Type.Literal('redis')]),
  instances: Type.Array(FleetInstanceSchema),
});

export const ConfigChangeSchema = Type.Object(
  {
    kind: Type.Union(['service_added', 'service_removed', 'setting_changed', 'listen_changed', 'shutdown_changed'].map((k) => Type.Literal(k)), {
      description: 'what changed: a service added or removed, a per-service setting, a listener key, shutdown.timeout',
    }),
    service: Type.Optional(Type.String()),
    path: Type.Optional(Type.String({ description: 'the key path as in the file, e.g. healthCheck.interval or listen.port' })),
    from: Type.Optional(Type.Unknown()),
    to: Type.Optional(Type.Unknown()),
  },
  { description: 'one change a reload applied' },
);
export const ReloadResponse = Type.Object({
  revision: Revision,
  changes: Type.Array(ConfigChangeSchema, { description: 'empty when the file gives the config being served' }),
  dryRun: Type.Optional(Type.Boolean({ description: 'the file was checked and compared, nothing applied' })),
});

export const UpgradeResponse = Type.Object({
  generation: Type.Integer({ description: 'the new workers: 1 at start, one more with every upgrade' }),
  started: Type.Array(Type.Integer(), { description: 'pids of the new workers, all serving' }),
  replaced: Type.Array(Type.Integer(), { description: 'pids of the workers now draining (exited, with wait=drained)' }),
  drained: Type.Optional(Type.Boolean({ description: 'wait=drained: the old workers finished everything before the shutdown timeout' })),
  dryRun: Type.Optional(Type.Boolean()),
  supervisor: Type.Optional(
    Type.Object({ pid: Type.Integer({ description: 'the new supervisor' }), replaced: Type.Integer({ description: 'the supervisor that answers, which exits once its workers drained' }) }, { description: 'supervisor=true' }),
  ),
});

/** The error answers every /v1 route may give. */
export const ErrorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 412: ErrorBody, 413: ErrorBody, 503: ErrorBody };

export const SvcParams = Type.Object({ svc: Name });
export const PoolParams = Type.Object({ svc: Name, pool: Name });
export const BackendParams = Type.Object({ svc: Name, pool: Name, id: Name });
export const RolloutActionParams = Type.Object({ svc: Name, action: Type.Union(['pause', 'resume', 'promote', 'abort'].map((a) => Type.Literal(a))) });

const BoolQuery = Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')]);
export const ReloadQuery = Type.Object({ dryRun: Type.Optional(BoolQuery) }, { additionalProperties: false });
export type ReloadQueryT = Static<typeof ReloadQuery>;
export const UpgradeQuery = Type.Object({ dryRun: Type.Optional(BoolQuery), wait: Type.Optional(Type.Literal('drained')), supervisor: Type.Optional(BoolQuery) }, { additionalProperties: false });
export type UpgradeQueryT = Static<typeof UpgradeQuery>;
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
/** `PUT /v1/services/:svc/mirror`: the config file's `mirror:` shape. */
export const MirrorBody = MirrorConfig;
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

export type BackendView = Static<typeof BackendViewSchema>;
export type ServiceView = Static<typeof ServiceViewSchema>;
export type ServiceAnswer = Static<typeof ServiceResponse>;
export type BackendAnswer = Static<typeof BackendResponse>;
export type EventView = Static<typeof EventSchema>;
export type RolloutViewT = Static<typeof RolloutView>;
export type RolloutAnswer = Static<typeof RolloutResponse>;
export type FleetAnswer = Static<typeof FleetResponse>;
export type ErrorAnswer = Static<typeof ErrorBody>;

export type SvcParamsT = Static<typeof SvcParams>;
export type PoolParamsT = Static<typeof PoolParams>;
export type BackendParamsT = Static<typeof BackendParams>;
export type SplitBodyT = Static<typeof SplitBody>;
export type FlipBodyT = Static<typeof FlipBody>;
export type CanaryBodyT = Static<typeof CanaryBody>;
export type RegisterBodyT = Static<typeof RegisterBody>;
export type MirrorBodyT = Static<typeof MirrorBody>;
export type PatchBodyT = Static<typeof PatchBody>;
export type RolloutStartBodyT = Static<typeof RolloutStartBody>;
export type WriteQueryT = Static<typeof WriteQuery>;
export type FlipQueryT = Static<typeof FlipQuery>;
export type DeleteQueryT = Static<typeof DeleteQuery>;
export type { RolloutGatesBodyT } from './rollout-schemas.js';
