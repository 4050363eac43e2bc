import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../util/index.js';

/** A duration string such as "500ms", "2s", "1m". */
export const Duration = Type.String({ pattern: DURATION_PATTERN, description: 'duration such as "500ms", "2s", "1m"' });
export const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'name: letters, digits, _ . -' });
export const BackendUrl = Type.String({ pattern: '^https?://[^\\s/?#]+/?$', description: 'http://host:port or https://host:port' });
export const Weight = Type.Integer({ minimum: 0, maximum: 1000, description: 'weight 0..1000 (default 100)' });

const Strict = { additionalProperties: false } as const;

export const BackendConfig = Type.Object(
  { id: Name, url: BackendUrl, weight: Type.Optional(Weight) },
  Strict,
);

export const RouteConfig = Type.Object(
  {
    /** Host to match: exact ("api.example.com"), suffix wildcard ("*.example.com") or any ("*"). Default "*". */
    host: Type.Optional(Type.String({ minLength: 1 })),
    /** Path prefix (default "/"). */
    pathPrefix: Type.Optional(Type.String({ pattern: '^/' })),
  },
  Strict,
);

export const HealthCheckConfig = Type.Object(
  {
    // GET this path (required unless grpc: true, and refused with it).
    path: Type.Optional(Type.String({ pattern: '^/' })),
    // Probe grpc.health.v1.Health/Check instead of GET path (default false); grpcService is the
    // service name the check asks about (default "": the whole server).
    grpc: Type.Optional(Type.Boolean()),
    grpcService: Type.Optional(Type.String({ maxLength: 200 })),
    interval: Type.Optional(Duration), // default 5s
    timeout: Type.Optional(Duration), // default 2s
    healthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), // default 2
    unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), // default 3
    expectStatus: Type.Optional(Type.String({ pattern: '^[1-5][0-9]{2}(-[1-5][0-9]{2})?$' })), // default 200-399
  },
  Strict,
);

export const OutlierConfig = Type.Object(
  {
    consecutiveFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), // default 5
    ejectFor: Type.Optional(Duration), // default 30s
    maxEjectFor: Type.Optional(Duration), // default 300s
    maxEjectedPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })), // default 50
  },
  Strict,
);

/** `mirror:` of a service and the body of `PUT /v1/services/:svc/mirror` (SPEC "Mirroring"). */
export const MirrorConfig = Type.Object(
  {
    pool: Name,
    percent: Type.Number({ minimum: 0, maximum: 100, description: 'share of the requests copied, two decimals' }),
    methods: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Z][A-Z_-]{0,31}$', description: 'an HTTP method in upper case' }), {
        minItems: 1,
        maxItems: 32,
        description: 'methods copied (default GET, HEAD)',
      }),
    ),
    maxBodyBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'a request with a larger body is not copied (default 1048576)' })),
    maxInFlight: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'copies out at once; past it they are dropped (default 100)' })),
  },
  Strict,
);

export const ServiceConfig = Type.Object(
  {
    routes: Type.Array(RouteConfig, { minItems: 1 }),
    // Keys are names too (additionalProperties: false refuses the others): the sticky cookie is
    // `turnout_<service>=<pool>`, and a space or a ";" in either would break it.
    pools: Type.Record(Name, Type.Array(BackendConfig), { additionalProperties: false, description: 'a mapping of pool names to backend lists' }),
    split: Type.Optional(Type.Record(Name, Type.Number({ minimum: 0, maximum: 100 }), { additionalProperties: false })),
    healthCheck: Type.Optional(HealthCheckConfig),
    outlier: Type.Optional(Type.Union([OutlierConfig, Type.Literal(false)])),
    slowStart: Type.Optional(Duration),
    drain: Type.Optional(Type.Object({ timeout: Type.Optional(Duration) }, Strict)),
    // Requests wait (up to timeout) for a backend instead of failing; timeout 0s (default) is off.
    hold: Type.Optional(
      Type.Object(
        {
          timeout: Type.Optional(Duration), // default 0s (off)
          retryInterval: Type.Optional(Duration), // default 250ms
          maxWaiting: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })), // default 1000
        },
        Strict,
      ),
    ),
    maxRequestsPerBackend: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })), // default 0 (unlimited)
    sticky: Type.Optional(Type.Boolean()),
    headerOverride: Type.Optional(Type.Boolean()),
    failover: Type.Optional(Type.Union([Type.Literal('split'), Type.Literal('any')])),
    preserveHost: Type.Optional(Type.Boolean()),
    timeouts: Type.Optional(
      Type.Object(
        {
          connect: Type.Optional(Duration), // default 2s
          response: Type.Optional(Duration), // default 60s
          // Idle upstream keep-alive sockets close after this (default 4s): keep it below the backends' own idle timeout.
          idle: Type.Optional(Duration),
        },
        Strict,
      ),
    ),
    tls: Type.Optional(Type.Object({ rejectUnauthorized: Type.Optional(Type.Boolean()) }, Strict)),
    // Copies of a share of the requests to a pool; seeds the state like split (SPEC "Mirroring").
    mirror: Type.Optional(MirrorConfig),
    // How requests reach the backends: http1 (default) or h2 (HTTP/2 streams; needed for gRPC).
    upstreamProtocol: Type.Optional(Type.Union([Type.Literal('http1'), Type.Literal('h2')])),
  },
  Strict,
);

/** A Redis Sentinel's address. */
export const RedisAddress = Type.Object(
  { host: Type.String({ minLength: 1 }), port: Type.Integer({ minimum: 1, maximum: 65535 }) },
  Strict,
);

export const TokenConfig = Type.Object(
  {
    name: Name,
    token: Type.String({ minLength: 1 }),
    scope: Type.Union([Type.Literal('read'), Type.Literal('write')]),
  },
  Strict,
);

export const ConfigSchema = Type.Object(
  {
    listen: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String({ minLength: 1 })),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
          tls: Type.Optional(Type.Object({ cert: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) }, Strict)),
          maxConnections: Type.Optional(Type.Integer({ minimum: 1 })),
          headersTimeout: Type.Optional(Duration), // default 10s
          requestTimeout: Type.Optional(Duration), // default 0 (off): long uploads must stream
          keepAliveTimeout: Type.Optional(Duration), // default 65s
          maxHeaderSize: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1048576 })), // default 16384
          allowUnderscoreHeaders: Type.Optional(Type.Boolean()), // default false: names with "_" are dropped
          // default true: HTTP/2 to clients (ALPN h2 on TLS, prior-knowledge h2c on plain); false = HTTP/1.1 only
          http2: Type.Optional(
            Type.Union([
              Type.Boolean(),
              Type.Object(
                {
                  maxConcurrentStreams: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })), // default 100
                  maxHeaderListSize: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1048576 })), // default 16384
                  initialWindowSize: Type.Optional(Type.Integer({ minimum: 65535, maximum: 2147483647 })), // default 65535
                },
                Strict,
              ),
            ]),
          ),
        },
        Strict,
      ),
    ),
    admin: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String({ minLength: 1 })),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
          token: Type.Optional(Type.String()),
          tokens: Type.Optional(Type.Array(TokenConfig)),
          protectMetrics: Type.Optional(Type.Boolean()),
        },
        Strict,
      ),
    ),
    state: Type.Optional(
      Type.Object(
        {
          store: Type.Union([Type.Literal('memory'), Type.Literal('file'), Type.Literal('redis')]),
          path: Type.Optional(Type.String({ minLength: 1 })),
          url: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'redis://[user:password@]host:port[/db] or rediss://… (TLS)' })),
          prefix: Type.Optional(Type.String()),
          // Redis Sentinel (instead of url): the sentinels to ask and the name of the primary they watch.
          sentinels: Type.Optional(Type.Array(RedisAddress, { minItems: 1, description: 'a list of {host, port} sentinels' })),
          name: Type.Optional(Type.String({ minLength: 1, description: 'the primary group name the sentinels watch' })),
          // ACL user and password for the Redis nodes (a url may carry them instead).
          username: Type.Optional(Type.String({ minLength: 1 })),
          password: Type.Optional(Type.String()),
          // Password of the sentinels themselves (default: none).
          sentinelPassword: Type.Optional(Type.String()),
          // TLS to the Redis nodes (and to the sentinels): PEM files; none of them is required.
          tls: Type.Optional(
            Type.Object(
              {
                ca: Type.Optional(Type.String({ minLength: 1 })),
                cert: Type.Optional(Type.String({ minLength: 1 })),
                key: Type.Optional(Type.String({ minLength: 1 })),
                servername: Type.Optional(Type.String({ minLength: 1 })),
              },
              Strict,
            ),
          ),
        },
        Strict,
      ),
    ),
    log: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(
            Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
          ),
          access: Type.Optional(Type.Boolean()),
          accessSample: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
        },
        Strict,
      ),
    ),
    /**
     * Worker processes serving the data plane (default 1); `auto`: one per available core; 0: the
     * data plane runs in the main process itself (least memory; an upgrade then needs a restart).
     */
    workers: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 256 }), Type.Literal('auto')])),
    /**
     * How long the proxy waits for in-flight requests on SIGTERM (default 30s); `orphanTimeout`: how
     * long a worker whose supervisor died keeps serving before it drains and exits (default 10m).
     */
    shutdown: Type.Optional(Type.Object({ timeout: Type.Optional(Duration), orphanTimeout: Type.Optional(Duration) }, Strict)),
    /** Rollout settings: the Prometheus that `gates.metrics` queries. */
    rollouts: Type.Optional(
      Type.Object(
        {
          prometheus: Type.Optional(
            Type.Object(
              { url: Type.String({ pattern: '^https?://[^\\s?#]+$', description: 'http:// or https:// base URL of Prometheus' }), timeout: Type.Optional(Duration) },
              Strict,
            ),
          ),
        },
        Strict,
      ),
    ),
    services: Type.Record(Name, ServiceConfig, { additionalProperties: false, description: 'a mapping of service names to services' }),
  },
  Strict,
);

export type RawConfig = Static<typeof ConfigSchema>;
export type RawServiceConfig = Static<typeof ServiceConfig>;
