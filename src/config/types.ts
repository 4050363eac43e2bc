import type { MirrorRecord } from '../model/index.js';

/** The normalised config: durations in ms, defaults filled. Produced by loadConfigFile. */

export interface AdminToken {
  readonly name: string;
  readonly token: string;
  readonly scope: 'read' | 'write';
}

export interface HealthCheckSettings {
  /** HTTP checks: GET this path ("" for gRPC checks). */
  readonly path: string;
  /** gRPC checks (healthCheck.grpc: true): grpc.health.v1.Health/Check asking about `service` ("" = the server); undefined for HTTP checks. */
  readonly grpc: { readonly service: string } | undefined;
  readonly intervalMs: number; // default 5000
  readonly timeoutMs: number; // default 2000
  readonly healthyThreshold: number; // default 2
  readonly unhealthyThreshold: number; // default 3
  readonly expectStatusMin: number; // default 200
  readonly expectStatusMax: number; // default 399
}

export interface OutlierSettings {
  readonly consecutiveFailures: number; // default 5
  readonly ejectForMs: number; // default 30000, doubled on each repeat ejection
  readonly maxEjectForMs: number; // default 300000
  readonly maxEjectedPercent: number; // default 50
}

export interface HoldSettings {
  /** How long a request may wait for a backend (ms, default 0: off, requests fail at once). */
  readonly timeoutMs: number;
  /** Waiting requests are tried again at least this often (ms, default 250), and on every table change. */
  readonly retryIntervalMs: number;
  /** Requests waiting at once per service (default 1000); beyond it, 503 at once. */
  readonly maxWaiting: number;
}

export interface SeedBackend {
  readonly id: string;
  readonly url: string;
  readonly weight: number;
}

export interface RouteSettings {
  /** "*", "*.example.com" or an exact host, lower case. */
  readonly host: string;
  readonly pathPrefix: string;
}

export interface ServiceConfig {
  readonly name: string;
  readonly routes: readonly RouteSettings[];
  readonly poolNames: readonly string[];
  readonly seedPools: Readonly<Record<string, readonly SeedBackend[]>>;
  readonly seedSplit: Readonly<Record<string, number>>;
  /** `mirror:` of the file, defaults filled: seeds the state like the split (absent: no mirror). */
  readonly seedMirror?: MirrorRecord;
  readonly healthCheck: HealthCheckSettings | undefined;
  readonly outlier: OutlierSettings | undefined;
  readonly slowStartMs: number; // default 0 (off)
  readonly drainTimeoutMs: number; // default 30000
  /** Requests that find no backend wait for one (SPEC "Hold and limits"). */
  readonly hold: HoldSettings;
  /** Most requests in flight on one backend; the others wait in the hold queue (default 0: unlimited). */
  readonly maxRequestsPerBackend: number;
  readonly sticky: boolean; // default false
  readonly headerOverride: boolean; // default false
  readonly failover: 'split' | 'any'; // default 'split'
  readonly preserveHost: boolean; // default true
  readonly connectTimeoutMs: number; // default 2000
  readonly responseTimeoutMs: number; // default 60000
  /** Idle upstream keep-alive sockets close after this; below the backends' own idle timeout (default 4000). */
  readonly idleTimeoutMs: number;
  readonly rejectUnauthorized: boolean; // default true
  /**
   * How requests travel to the backends (SPEC "HTTP/2 and gRPC"): `http1` (default) on the keep-alive
   * pool, or `h2`: streams on pooled HTTP/2 sessions (h2c for http://, ALPN h2 for https://).
   */
  readonly upstreamProtocol: 'http1' | 'h2';
}

/** TLS to the Redis nodes and sentinels: PEM file paths (read when the store is created). */
export interface RedisTlsSettings {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** The name the certificate must carry (default: the host connected to). */
  readonly servername?: string;
}

export interface StateSettings {
  readonly store: 'memory' | 'file' | 'redis';
  readonly path: string;
  /** redis:// or rediss:// (may carry user and password); absent with `sentinels`. */
  readonly url?: string;
  readonly prefix: string;
  /** Redis Sentinel: the sentinels asked for the primary called `name`. */
  readonly sentinels?: readonly { readonly host: string; readonly port: number }[];
  readonly name?: string;
  /** ACL user and password on the Redis nodes. */
  readonly username?: string;
  readonly password?: string;
  readonly sentinelPassword?: string;
  readonly tls?: RedisTlsSettings;
}

/** `listen.http2`: HTTP/2 to clients and its per-connection limits. */
export interface Http2Listen {
  readonly enabled: boolean;
  readonly maxConcurrentStreams: number; // default 100
  readonly maxHeaderListSize: number; // default 16384
  readonly initialWindowSize: number; // default 65535
}

export interface Config {
  readonly listen: {
    readonly host: string;
    readonly port: number;
    readonly tls?: { readonly certFile: string; readonly keyFile: string };
    readonly maxConnections: number; // 0 = unlimited
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly maxHeaderSize: number;
    /** Forward header names containing "_" (default false: they are dropped, as nginx does). */
    readonly allowUnderscoreHeaders: boolean;
    /** HTTP/2 to clients (SPEC "HTTP/2 and gRPC"); `enabled: false` = HTTP/1.1 only. */
    readonly http2: Http2Listen;
  };
  readonly admin: {
    readonly host: string;
    readonly port: number;
    readonly tokens: readonly AdminToken[];
    readonly protectMetrics: boolean;
  };
  readonly state: StateSettings;
  readonly log: { readonly level: string; readonly access: boolean; readonly accessSample: number };
  readonly shutdownTimeoutMs: number;
  /** Worker processes of `turnout serve` (`auto`: one per available core; 0: the data plane in the main process). */
  readonly workers: number | 'auto';
  /** How long a worker whose supervisor died (an orphan) keeps serving before it drains and exits. */
  readonly orphanTimeoutMs: number;
  readonly services: Readonly<Record<string, ServiceConfig>>;
  /** `rollouts.prometheus`: where metric gates run their PromQL (timeout default 5s); read at start. */
  readonly rollouts?: { readonly prometheus?: { readonly url: string; readonly timeoutMs: number } };
}
