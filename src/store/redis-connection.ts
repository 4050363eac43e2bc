import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';

/** ioredis' options (replyMapping left out: its optional type clashes with the constructor's under exactOptionalPropertyTypes). */
export type ClientOptions = Omit<RedisOptions, 'replyMapping'>;
import type { StateSettings } from '../config/index.js';

/** How to reach the Redis primary: a URL, or Sentinel options; ioredis' own options either way. */
export interface RedisConnection {
  /** redis:// or rediss:// (may carry user and password); absent with Sentinel. */
  readonly url?: string;
  readonly options: ClientOptions;
  /** Names the store in messages, without a password ("redis at …", "redis via sentinels …"). */
  readonly description: string;
}

/** Client TLS options from the config's PEM files (read here, at start-up; the config checked they are readable). */
function tlsOptions(state: StateSettings): ConnectionOptions | undefined {
  const t = state.tls;
  if (t === undefined) return state.url?.startsWith('rediss://') === true ? {} : undefined;
  return {
    ...(t.ca !== undefined ? { ca: readFileSync(t.ca) } : {}),
    ...(t.cert !== undefined ? { cert: readFileSync(t.cert) } : {}),
    ...(t.key !== undefined ? { key: readFileSync(t.key) } : {}),
    ...(t.servername !== undefined ? { servername: t.servername } : {}),
  };
}

/**
 * ioredis options for the config's `state`: Sentinel (`sentinels`, `name`, `sentinelPassword`),
 * ACL user and password, TLS (to the nodes, and with Sentinel to the sentinels too). A URL's own
 * user and password win over `username`/`password`, as ioredis does.
 */
export function redisConnection(state: StateSettings, description: string): RedisConnection {
  const tls = tlsOptions(state);
  const auth: ClientOptions = {
    ...(state.username !== undefined ? { username: state.username } : {}),
    ...(state.password !== undefined ? { password: state.password } : {}),
  };
  if (state.sentinels !== undefined) {
    return {
      description,
      options: {
        ...auth,
        sentinels: state.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: state.name ?? 'mymaster',
        ...(state.sentinelPassword !== undefined ? { sentinelPassword: state.sentinelPassword } : {}),
        ...(tls !== undefined ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
        // Ask the sentinels again soon after the primary went away: a failover takes seconds.
        sentinelRetryStrategy: (times: number) => Math.min(100 * times, 1000),
        // No failoverDetector: ioredis 6 ends a client for good when +switch-master arrives while it
        // is reconnecting (the failover test saw it). Without it the client finds the new primary on
        // its next reconnect, and a demoted primary's clients are disconnected by the sentinels.
      },
    };
  }
  return { url: state.url ?? 'redis://127.0.0.1:6379', description, options: { ...auth, ...(tls !== undefined ? { tls } : {}) } };
}
