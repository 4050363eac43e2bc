import type { Redis } from 'ioredis';
import { NO_COUNTS, selfInstance } from './fleet.js';
import type { Fleet, FleetReport } from './fleet.js';
import type { FleetInstance, PoolCounts } from './types.js';

/** Take the lease when free, or renew it when this instance holds it. */
const LEASE_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

export interface RedisFleetOptions {
  readonly client: Redis;
  readonly instanceId: string;
  /** The hash of live instances (`<prefix>instances`). */
  readonly instancesKey: string;
  /** Leases are `<leasePrefix><name>`. */
  readonly leasePrefix: string;
  /** Heartbeat interval; an instance unseen for 5 heartbeats is gone. */
  readonly heartbeatMs: number;
}

/**
 * The fleet of every instance sharing one Redis: each writes its report into the instances hash
 * on a heartbeat and reads the others' from it (cached between beats, so the hot questions,
 * othersInFlight and othersPoolTotals, cost no round trip).
 */
export class RedisFleet implements Fleet {
  readonly reportLagMs = 1200;
  private readonly startedAt = new Date().toISOString();
  private applied = 0;
  private source: FleetReport | undefined;
  private cache: FleetInstance[] = [];
  private beat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: RedisFleetOptions) {}

  /** Starts the heartbeat (the store calls it once connected). */
  start(): void {
    this.beat ??= setInterval(() => void this.heartbeat(), this.opts.heartbeatMs);
    this.beat.unref();
  }

  get appliedRevision(): number {
    return this.applied;
  }

  setApplied(revision: number): void {
    if (revision < this.applied) return; // the revision an instance reports never steps back
    const first = this.applied === 0;
    this.applied = revision;
    // Registered in the fleet as soon as it has a state, not at the first heartbeat: /v1/fleet on
    // any instance lists every ready one.
    if (first) void this.heartbeat();
  }

  report(source: FleetReport): void {
    this.source = source;
  }

  private async heartbeat(): Promise<void> {
    const { client, instanceId, instancesKey, heartbeatMs } = this.opts;
    if (this.closed || client.status !== 'ready') return;
    const me: FleetInstance = {
      ...selfInstance(instanceId, this.startedAt, this.applied, this.source),
      draining: this.source?.inFlight() ?? {},
      pools: this.source?.pools() ?? {},
    };
    try {
      await client.hset(instancesKey, instanceId, JSON.stringify(me));
      const all = await client.hgetall(instancesKey);
      const now = Date.now();
      const live: FleetInstance[] = [];
      const gone: string[] = [];
      for (const [id, raw] of Object.entries(all)) {
        try {
          const inst = JSON.parse(raw) as FleetInstance;
          const age = now - Date.parse(inst.seenAt);
          if (age <= heartbeatMs * 5) live.push(inst);
          else if (age > 60_000) gone.push(id);
        } catch {
          gone.push(id);
        }
      }
      if (gone.length > 0) await client.hdel(instancesKey, ...gone);
      this.cache = live.sort((a, b) => a.id.localeCompare(b.id));
    } catch {
      // Next beat.
    }
  }

  async instances(): Promise<FleetInstance[]> {
    await this.source?.tally?.();
    await this.heartbeat();
    return this.cache;
  }

  othersPoolTotals(key: string): PoolCounts {
    let requests = 0;
    let errors = 0;
    let p99Ms = 0;
    for (const inst of this.cache) {
      if (inst.id === this.opts.instanceId) continue;
      const c = inst.pools?.[key];
      if (c === undefined) continue;
      requests += c.requests;
      errors += c.errors;
      p99Ms = Math.max(p99Ms, c.p99Ms);
    }
    return requests === 0 && errors === 0 && p99Ms === 0 ? NO_COUNTS : { requests, errors, p99Ms };
  }

  othersInFlight(key: string): number {
    let n = 0;
    for (const inst of this.cache) if (inst.id !== this.opts.instanceId) n += inst.draining?.[key] ?? 0;
    return n;
  }

  async acquireLease(name: string, ttlMs: number): Promise<boolean> {
    if (this.opts.client.status !== 'ready') return false;
    try {
      return (await this.opts.client.eval(LEASE_SCRIPT, 1, `${this.opts.leasePrefix}${name}`, this.opts.instanceId, String(ttlMs))) === 1;
    } catch {
      return false;
    }
  }

  /** Leaves the fleet (the store calls it before disconnecting). */
  async leave(): Promise<void> {
    this.close();
    try {
      if (this.opts.client.status === 'ready') await this.opts.client.hdel(this.opts.instancesKey, this.opts.instanceId);
    } catch {
      // leaving anyway
    }
  }

  close(): void {
    this.closed = true;
    if (this.beat !== undefined) clearInterval(this.beat);
    this.beat = undefined;
  }
}
