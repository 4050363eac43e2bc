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
import type { StateStore } from './types.js';

/**
 * Compare-and-set of the whole state: the revision key must still hold the expected revision.
 * Publishes the new revision so every instance re-reads within milliseconds.
 */
const CAS_SCRIPT = `
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur ~= tonumber(ARGV[1]) then return cur end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('PUBLISH', KEYS[3], ARGV[3])
return -1
`;

export interface RedisStoreOptions {
  readonly url: string;
  /** Key prefix (default "turnout:"); give each fleet its own. */
  readonly prefix: string;
  readonly logger: Logger;
  /** Re-read interval for missed pub/sub messages (default 1000 ms). */
  readonly pollMs?: number;
  /** Fleet heartbeat interval (default 500 ms); an instance unseen for 5 heartbeats is gone. */
  readonly heartbeatMs?: number;
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
  readonly fleet: RedisFleet;
  private lastRevision = 0;
  private poll: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(opts: RedisStoreOptions) {
    this.log = opts.logger;
    this.pollMs = opts.pollMs ?? 1000;
    const p = opts.prefix;
    this.keys = { state: `${p}state`, revision: `${p}revision`, channel: `${p}changes`, instances: `${p}instances` };
    const common = {
      lazyConnect: true,
      // Fail at once while disconnected: an admin write answers 503 instead of hanging.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
    };
    const RedisClient = redisClass();
    this.client = new RedisClient(opts.url, common);
    this.sub = new RedisClient(opts.url, { ...common, enableOfflineQueue: true });
    this.fleet = new RedisFleet({
      client: this.client,
      instanceId: this.instanceId,
      instancesKey: this.keys.instances,
      leasePrefix: `${this.keys.state}:lease:`,
      heartbeatMs: opts.heartbeatMs ?? 500,
    });
    this.client.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis error'));
    this.sub.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis subscriber error'));
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

  private async connect(): Promise<void> {
    if (this.client.status === 'ready') return;
    try {
      if (this.client.status === 'wait') await this.client.connect();
      if (this.sub.status === 'wait') {
        await this.sub.connect();
        await this.sub.subscribe(this.keys.channel);
      }
    } catch (err) {
      throw new StoreUnavailableError(`cannot reach redis: ${(err as Error).message}`, err);
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
      if (!this.ready()) throw new StoreUnavailableError('redis is not reachable; writes are refused until it is back');
    }
    let result: unknown;
    try {
      result = await this.client.eval(CAS_SCRIPT, 3, this.keys.state, this.keys.revision, this.keys.channel, String(expectedRevision), JSON.stringify(next), String(next.revision));
    } catch (err) {
      throw new StoreUnavailableError(`redis refused the write: ${(err as Error).message}`, err);
    }
    if (result !== -1) throw new RevisionMismatchError(expectedRevision, Number(result));
    this.lastRevision = Math.max(this.lastRevision, next.revision);
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
