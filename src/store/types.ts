import type { StateSnapshot } from '../model/index.js';
import type { Fleet } from './fleet.js';

export type { FleetInstance, PoolCounts, WorkerInfo } from './fleet.js';

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

