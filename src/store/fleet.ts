import { hostname } from 'node:os';

/** What an instance tells the others about itself, read at each report (heartbeat or `/v1/fleet`). */
export interface FleetReport {
  /** In-flight on backends that have any or are draining, keyed `service/id` (all its workers). */
  inFlight(): Record<string, number>;
  /** Cumulative counts per pool, keyed `service/pool` (all its workers), for rollout gates. */
  pools(): Record<string, PoolCounts>;
  /** Its worker processes (a supervisor); none when the data plane runs in the process itself. */
  workers?(): readonly WorkerInfo[];
  /** Brings `workers()` up to date (asked before `/v1/fleet` answers). */
  tally?(): Promise<void>;
}

/**
 * The facts instances sharing one state need from each other (ARCHITECTURE "Processes"): who is
 * live and which revision each applied, in-flight on draining backends (so a drain waits for
 * every instance), per-pool counts (so rollout gates see every instance's traffic) and a lease
 * (so one instance drives a rollout). Every store has one: the embedded stores a fleet of one
 * that costs nothing, Redis the fleet of every instance sharing its keys. A supervisor adds its
 * workers below it through `report`: the level above sees one instance with its workers' counts.
 */
export interface Fleet {
  /**
   * How late another instance's report may be: a removal after a drain waits this long from the
   * drain's start before it trusts the others' zeros (0 for a fleet of one).
   */
  readonly reportLagMs: number;
  /** The live instances, this one included, with the revision each applied. */
  instances(): Promise<FleetInstance[]>;
  /** The revision this instance has applied. */
  setApplied(revision: number): void;
  /** Where this instance's counts are read from. */
  report(source: FleetReport): void;
  /** In-flight on a backend (`service/id`) reported by the other instances. */
  othersInFlight(key: string): number;
  /** The other instances' cumulative counts of a pool (`service/pool`), summed (p99: the highest). */
  othersPoolTotals(key: string): PoolCounts;
  /** Holds (or renews) a named lease for `ttlMs`; true while this instance holds it. */
  acquireLease(name: string, ttlMs: number): Promise<boolean>;
  close(): void;
}

export const NO_COUNTS: PoolCounts = Object.freeze({ requests: 0, errors: 0, p99Ms: 0 });

/** What this instance says of itself. */
export function selfInstance(id: string, startedAt: string, revision: number, source: FleetReport | undefined): FleetInstance {
  const workers = source?.workers?.();
  return {
    id,
    host: hostname(),
    pid: process.pid,
    startedAt,
    revision,
    seenAt: new Date().toISOString(),
    ...(workers !== undefined ? { workers: [...workers] } : {}),
  };
}

/** The fleet of one process with an embedded store (memory, file): nobody else to wait for. */
export class LocalFleet implements Fleet {
  readonly reportLagMs = 0;
  private readonly id = `${hostname()}:${process.pid}`;
  private readonly startedAt = new Date().toISOString();
  private applied = 0;
  private source: FleetReport | undefined;

  async instances(): Promise<FleetInstance[]> {
    await this.source?.tally?.();
    return [selfInstance(this.id, this.startedAt, this.applied, this.source)];
  }

  setApplied(revision: number): void {
    this.applied = revision;
  }

  report(source: FleetReport): void {
    this.source = source;
  }

  othersInFlight(): number {
    return 0;
  }

  othersPoolTotals(): PoolCounts {
    return NO_COUNTS;
  }

  async acquireLease(): Promise<boolean> {
    return true;
  }

  close(): void {}
}

export interface PoolCounts {
  readonly requests: number;
  readonly errors: number;
  readonly p99Ms: number;
}

export interface FleetInstance {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
  /** Revision of the state this instance has applied. */
  readonly revision: number;
  readonly seenAt: string;
  /** In-flight on backends that have any or are draining (`service/id`), all its workers. */
  readonly draining?: Record<string, number>;
  readonly pools?: Record<string, PoolCounts>;
  /** Its worker processes, when a supervisor runs the data plane in workers. */
  readonly workers?: WorkerInfo[];
}

/** One worker process of a supervisor (`/v1/fleet`). */
export interface WorkerInfo {
  readonly pid: number;
  /** Which start it belongs to: 1 at start, one more with every upgrade. */
  readonly generation: number;
  /**
   * `starting` until it built its table, `serving` while it gets connections, then `draining`;
   * `orphaned`: a worker of a supervisor that died, found at start, told to drain once this one's serve.
   */
  readonly state: 'starting' | 'serving' | 'draining' | 'orphaned';
  readonly startedAt: string;
  /** Revision of the state it has applied. */
  readonly revision: number;
  /** Client connections handed to it since it started, and open now. */
  readonly connections: { readonly total: number; readonly open: number };
  readonly inFlight: number;
}
