import { RevisionMismatchError } from '../errors.js';
import type { StateSnapshot } from '../model/index.js';
import { LocalFleet } from './fleet.js';
import type { StateStore } from './types.js';

/** Keeps the state in this process only; nothing survives a restart. */
export class MemoryStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly fleet = new LocalFleet();
  private current: StateSnapshot | undefined;

  async load(): Promise<StateSnapshot | undefined> {
    return this.current;
  }

  async write(next: StateSnapshot, expectedRevision: number): Promise<void> {
    const actual = this.current?.revision ?? 0;
    if (this.current !== undefined && actual !== expectedRevision) throw new RevisionMismatchError(expectedRevision, actual);
    this.current = next;
  }

  onChange(): void {
    // A single process: there is no other writer.
  }

  async close(): Promise<void> {}
}
