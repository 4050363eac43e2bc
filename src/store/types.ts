import type { StateSnapshot } from '../model/index.js';
import type { Fleet } from './fleet.js';

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
  /** The instances sharing this state (one, with an embedded store). */
  readonly fleet: Fleet;
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
  /** `starting` until it built its table, `serving` while it gets connections, then `draining`. */
  readonly state: 'starting' | 'serving' | 'draining';
  readonly startedAt: string;
  /** Revision of the state it has applied. */
  readonly revision: number;
  /** Client connections handed to it since it started, and open now. */
  readonly connections: { readonly total: number; readonly open: number };
  readonly inFlight: number;
}
