import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

// Loaded on first use: a process on the memory or file store never pays for the client (about 12 MiB).
const requireLazy = createRequire(import.meta.url);
function redisClass(): typeof Redis {
  return (requireLazy('ioredis') as typeof import('ioredis')).Redis;
}
import type { Logger } from 'pino';
import { RevisionMismatchError, StoreUnavailableError } from '../errors.js';
import type { StateSnapshot } from '../model/index.js';
import { parseStateFile } from './file.js';
import { RedisFleet } from './redis-fleet.js';
import type { ClientOptions, RedisConnection } from './redis-connection.js';
import { connectedReplicas, replicaWaitOutcome } from './replicas.js';
import type { StateStore } from './types.js';

/**
 * Compare-and-set of the whole state: the revision key must not be newer than the expected
 * revision. Equal is the normal case; older means the store went back (a failover lost writes no
 * replica had, or Redis lost its data), and the writer's state, newer, is written over it so the
 * revision never goes backwards. Answers {1, stored} when written, {0, stored} when refused.
 * The change is published by the caller once it is durable.
 */
const CAS_SCRIPT = `
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur > tonumber(ARGV[1]) then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
return {1, cur}
`;

export interface RedisStoreOptions {
  /** Where Redis is: a URL or Sentinel options (see redisConnection); `url` alone is a plain URL. */
  readonly connection?: RedisConnection;
  readonly url?: string;
  /** Key prefix (default "turnout:"); give each fleet its own. */
  readonly prefix: string;
  readonly logger: Logger;
  /** Re-read interval for missed pub/sub messages (default 1000 ms). */
  readonly pollMs?: number;
  /** Fleet heartbeat interval (default 500 ms); an instance unseen for 5 heartbeats is gone. */
  readonly heartbeatMs?: number;
  /** How long a write waits for a replica to have it, while the primary has any (default 1000 ms). */
  readonly replicaWaitMs?: number;
  /** How long the first connection may take before start-up gives up (default 5000 ms). */
  readonly connectWaitMs?: number;
}

/**
 * The fleet store: the state lives in Redis under `<prefix>state` with its revision in
 * `<prefix>revision`; writes are a compare-and-set in one Lua script; changes fan out through
 * pub/sub on `<prefix>changes`, with a periodic re-read for missed messages and a re-read on
 * reconnect. While Redis is down, reads are served from the last state and writes fail at once
 * with StoreUnavailableError (503 store_unavailable).
 */
export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly instanceId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly client: Redis;
  private readonly sub: Redis;
  private readonly keys: { state: string; revision: string; channel: string; instances: string };
  private readonly listeners: ((state: StateSnapshot) => void)[] = [];
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly replicaWaitMs: number;
  private readonly connectWaitMs: number;
  /** Names the store in messages, without a password. */
  readonly description: string;
  readonly fleet: RedisFleet;
  private lastRevision = 0;
  private poll: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  /** The client's last error event (why a connection failed; never carries a password). */
  private lastError: string | undefined;

  constructor(opts: RedisStoreOptions) {
    this.log = opts.logger;
    this.pollMs = opts.pollMs ?? 1000;
    this.replicaWaitMs = opts.replicaWaitMs ?? 1000;
    this.connectWaitMs = opts.connectWaitMs ?? 5000;
    const p = opts.prefix;
    this.keys = { state: `${p}state`, revision: `${p}revision`, channel: `${p}changes`, instances: `${p}instances` };
    const connection = opts.connection ?? { url: opts.url ?? 'redis://127.0.0.1:6379', options: {}, description: 'redis' };
    this.description = connection.description;
    const common = {
      ...connection.options,
      lazyConnect: true,
      // Fail at once while disconnected: an admin write answers 503 instead of hanging.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (times: number) => Math.min(100 * times, 1000),
    };
    const RedisClient = redisClass();
    const create = (o: ClientOptions): Redis => (connection.url !== undefined ? new RedisClient(connection.url, o) : new RedisClient(o));
    this.client = create(common);
    this.sub = create({ ...common, enableOfflineQueue: true });
    this.fleet = new RedisFleet({
      client: this.client,
      instanceId: this.instanceId,
      instancesKey: this.keys.instances,
      leasePrefix: `${this.keys.state}:lease:`,
      heartbeatMs: opts.heartbeatMs ?? 500,
    });
    this.client.on('error', (err: Error) => {
      this.lastError = err.message;
      this.log.debug({ err: err.message }, 'redis error');
    });
    this.sub.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis subscriber error'));
    // A client that ended while the store is open (ioredis gives up in a few paths) connects again.
    for (const c of [this.client, this.sub]) c.on('end', () => this.revive(c));
    this.client.on('ready', () => {
      if (this.lastRevision > 0) {
        this.log.info('redis reachable again: re-reading the state');
        void this.refresh();
      }
    });
    this.sub.on('message', (_channel: string, message: string) => {
      const rev = Number(message);
      if (Number.isFinite(rev) && rev > this.lastRevision) void this.refresh();
    });
  }

  private revive(c: Redis): void {
    if (this.closed) return;
    setTimeout(() => {
      if (this.closed || c.status !== 'end') return;
      this.log.info('redis connection ended: connecting again');
      // A failed attempt ends in 'reconnecting' (retryStrategy) or in 'end' again, which comes back here.
      c.connect()
        .then(() => (c === this.sub ? this.sub.subscribe(this.keys.channel) : undefined))
        .catch(() => undefined);
    }, 500).unref();
  }

  private async connect(): Promise<void> {
    if (this.client.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    // With Sentinel, ioredis keeps asking the sentinels and never rejects: bound the first connect.
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.connectWaitMs}ms`)), this.connectWaitMs);
    });
    try {
      const both = (async () => {
        if (this.client.status === 'wait') await this.client.connect();
        if (this.sub.status === 'wait') {
          await this.sub.connect();
          await this.sub.subscribe(this.keys.channel);
        }
      })();
      both.catch(() => undefined);
      await Promise.race([both, deadline]);
    } catch (err) {
      // ioredis rejects with "Connection is closed." and tells why in an error event (WRONGPASS…).
      const why = (this.lastError ?? (err as Error).message).replace(/ Retrying from scratch after \d+ms\./, '');
      if (/WRONGPASS|NOAUTH|NOPERM/.test(why)) throw new StoreUnavailableError(`redis refused the credentials: ${why}`, err);
      throw new StoreUnavailableError(`cannot reach redis: ${why}`, err);
    } finally {
      clearTimeout(timer);
    }
    this.poll ??= setInterval(() => void this.checkRevision(), this.pollMs);
    this.poll.unref();
    this.fleet.start();
  }

  async load(): Promise<StateSnapshot | undefined> {
    await this.connect();
    let text: string | null;
    try {
      text = await this.client.get(this.keys.state);
    } catch (err) {
      throw new StoreUnavailableError(`cannot read the state from redis: ${(err as Error).message}`, err);
    }
    if (text === null) return undefined;
    // A value that is not a turnout state throws StateFileError, as a corrupt file does.
    const state = parseStateFile(text, `redis key ${this.keys.state}`);
    this.lastRevision = Math.max(this.lastRevision, state.revision);
    return state;
  }

  async write(next: StateSnapshot, expectedRevision: number): Promise<void> {
    if (!this.ready()) {
      await this.connect().catch(() => undefined);
      if (!this.ready()) throw new StoreUnavailableError(`${this.description} is not reachable; writes are refused until it is back`);
    }
    let result: unknown;
    try {
      result = await this.client.eval(CAS_SCRIPT, 2, this.keys.state, this.keys.revision, String(expectedRevision), JSON.stringify(next), String(next.revision));
    } catch (err) {
      throw new StoreUnavailableError(`redis refused the write: ${(err as Error).message}`, err);
    }
    const [written, stored] = (result as [number, number]);
    if (written !== 1) throw new RevisionMismatchError(expectedRevision, Number(stored));
    if (stored < expectedRevision) {
      this.log.warn({ stored, expected: expectedRevision, revision: next.revision }, 'the stored revision was behind the state this instance serves (a failover lost writes no replica had, or redis lost its data): wrote over it');
    }
    await this.durable(next.revision);
    this.lastRevision = Math.max(this.lastRevision, next.revision);
    // Published only once durable: no instance applies a write a failover could still undo.
    await this.client.publish(this.keys.channel, String(next.revision)).catch((err: Error) => this.log.debug({ err: err.message }, 'redis publish failed; the others re-read within pollMs'));
  }

  /**
   * While the primary has connected replicas, waits until one of them has the write (WAIT 1):
   * a failover then cannot undo it. A primary without replicas takes the write as it is.
   */
  private async durable(revision: number): Promise<void> {
    let acked: number;
    try {
      const replicas = connectedReplicas(await this.client.info('replication'));
      if (replicas === 0) return;
      acked = Number(await this.client.call('WAIT', '1', String(this.replicaWaitMs)));
    } catch (err) {
      throw new StoreUnavailableError(`revision ${revision} was written but not confirmed by a replica (${(err as Error).message}): the write may stand; the revision tells`, err);
    }
    const outcome = replicaWaitOutcome(acked, revision, this.replicaWaitMs);
    if (outcome !== undefined) throw new StoreUnavailableError(outcome);
  }

  private ready(): boolean {
    return this.client.status === 'ready';
  }

  onChange(listener: (state: StateSnapshot) => void): void {
    this.listeners.push(listener);
  }

  private async checkRevision(): Promise<void> {
    if (this.closed || this.client.status !== 'ready') return;
    try {
      const rev = Number((await this.client.get(this.keys.revision)) ?? '0');
      if (rev > this.lastRevision) await this.refresh();
    } catch {
      // Redis went away between the check and the call: the next tick or reconnect re-reads.
    }
  }

  /** Reads the state and hands it to the listeners when it is newer than what we had. */
  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const text = await this.client.get(this.keys.state);
        if (text === null) return;
        const state = parseStateFile(text, `redis key ${this.keys.state}`);
        this.lastRevision = Math.max(this.lastRevision, state.revision);
        if (state.revision <= this.fleet.appliedRevision) return;
        for (const l of this.listeners) l(state);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'cannot re-read the state from redis');
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    await this.fleet.leave();
    this.client.disconnect();
    this.sub.disconnect();
  }
}
