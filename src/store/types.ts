import type { StateSnapshot } from '../model/index.js';

/**
 * Where the state lives. One instance and a fleet behave alike: every write is a compare-and-set
 * on the revision, and every accepted state reaches `onChange` listeners (locally at once; in a
 * fleet, through the store's fan-out).
 */
export interface StateStore {
  readonly kind: 'memory' | 'file' | 'redis';
  /** The stored state, or undefined when nothing was stored yet. */
  load(): Promise<StateSnapshot | undefined>;
  /**
   * Stores `next` if the stored revision is still `expectedRevision` (next.revision is expected to
   * be expectedRevision + 1). Throws RevisionMismatchError when it is not, StoreUnavailableError
   * when the store cannot be reached.
   */
  write(next: StateSnapshot, expectedRevision: number): Promise<void>;
  /** Called with every state another writer stored (fleet fan-out); local writes are not echoed. */
  onChange(listener: (state: StateSnapshot) => void): void;
  close(): Promise<void>;
  /** Fleet stores: the revision this instance applied (reported to `/v1/fleet`). */
  setApplied?(revision: number): void;
  /** Fleet stores: the live instances sharing this state. */
  fleet?(): Promise<FleetInstance[]>;
  /** Fleet stores: this instance's in-flight counts on draining backends (`service/id` → n). */
  reportDraining?(fn: () => Record<string, number>): void;
  /** Fleet stores: in-flight on a draining backend (`service/id`) reported by the other instances. */
  othersInFlight?(key: string): number;
  /** Fleet stores: this instance's cumulative counts per pool (`service/pool`), for rollout gates. */
  reportPools?(fn: () => Record<string, PoolCounts>): void;
  /** Fleet stores: the other live instances' cumulative counts of a pool, summed (p99: the highest). */
  fleetPoolTotals?(key: string): PoolCounts;
  /** Fleet stores: hold (or renew) a named lease for `ttlMs`; true while this instance holds it. */
  acquireLease?(name: string, ttlMs: number): Promise<boolean>;
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
  readonly draining?: Record<string, number>;
  readonly pools?: Record<string, PoolCounts>;
}
