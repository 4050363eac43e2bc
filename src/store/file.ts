import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { RevisionMismatchError, StateFileError, StoreUnavailableError } from '../errors.js';
import type { StateSnapshot } from '../model/index.js';
import { LocalFleet } from './fleet.js';
import type { StateStore } from './types.js';

/**
 * Keeps the state in one JSON file, written atomically on every change: a temp file beside it,
 * fsync, rename over, fsync of the directory. A file that cannot be parsed stops start-up with a
 * message naming it and is never overwritten.
 */
export class FileStore implements StateStore {
  readonly kind = 'file' as const;
  readonly fleet = new LocalFleet();
  private revision: number | undefined;
  /** Set when the file on disk could not be read: writes are refused so it is never overwritten. */
  private poisoned = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async load(): Promise<StateSnapshot | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.revision = 0;
        return undefined;
      }
      this.poisoned = true;
      throw new StateFileError(`cannot read state file ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    const state = parseStateFile(text, this.path, () => {
      this.poisoned = true;
    });
    this.revision = state.revision;
    return state;
  }

  write(next: StateSnapshot, expectedRevision: number): Promise<void> {
    // Serialise writes so the compare-and-set and the rename happen one at a time.
    const run = this.chain.then(() => this.writeNow(next, expectedRevision));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async writeNow(next: StateSnapshot, expectedRevision: number): Promise<void> {
    if (this.poisoned) throw new StoreUnavailableError(`state file ${this.path} is corrupt; refusing to overwrite it`);
    if (this.revision !== undefined && this.revision !== 0 && this.revision !== expectedRevision) {
      throw new RevisionMismatchError(expectedRevision, this.revision);
    }
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify(next, null, 1)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new StoreUnavailableError(`cannot write state file ${this.path}: ${(err as Error).message}`, err);
    }
    this.revision = next.revision;
  }

  /**
   * For `--reset-state`: a state file that does not hold a turnout state is renamed to
   * `<path>.corrupt-<time>` so the seed can be written without destroying it. Returns where it
   * went, or undefined when the file is absent or sound (a sound file is reset by a normal write).
   */
  async setAsideIfCorrupt(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StateFileError(`cannot read state file ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      parseStateFile(text, this.path);
      return undefined;
    } catch (err) {
      if (!(err instanceof StateFileError)) throw err;
    }
    const aside = `${this.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await rename(this.path, aside);
    } catch (err) {
      throw new StateFileError(`cannot move the corrupt state file ${this.path} aside: ${(err as Error).message}`, { cause: err });
    }
    return aside;
  }

  onChange(): void {
    // One process owns the file.
  }

  async close(): Promise<void> {
    await this.chain;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Down to each backend, so that what start-up reads can never fail later with a TypeError. */
function isStateShape(doc: unknown): boolean {
  if (!isRecord(doc) || !Number.isInteger(doc.revision) || !isRecord(doc.services)) return false;
  return Object.values(doc.services).every(
    (svc) =>
      isRecord(svc) &&
      isRecord(svc.split) &&
      Object.values(svc.split).every((v) => typeof v === 'number' && Number.isFinite(v)) &&
      isRecord(svc.pools) &&
      Object.values(svc.pools).every(
        (pool) =>
          isRecord(pool) &&
          Array.isArray(pool.backends) &&
          pool.backends.every(
            (b: unknown) =>
              isRecord(b) &&
              typeof b.id === 'string' &&
              typeof b.url === 'string' &&
              typeof b.weight === 'number' &&
              (b.state === 'active' || b.state === 'draining' || b.state === 'maint') &&
              (b.drain === undefined || isRecord(b.drain)),
          ),
      ) &&
      (svc.splitHistory === undefined || Array.isArray(svc.splitHistory)) &&
      (svc.history === undefined || Array.isArray(svc.history)),
  );
}

/** Validates the shape enough that a hand-edited or truncated file is refused, not half-used. */
export function parseStateFile(text: string, path: string, onBad: () => void = () => undefined): StateSnapshot {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    onBad();
    throw new StateFileError(
      `state file ${path} is corrupt (${(err as Error).message}); it was left untouched. Fix or move it, or start with --reset-state (which moves it aside)`,
      { cause: err },
    );
  }
  if (!isStateShape(doc)) {
    onBad();
    throw new StateFileError(
      `state file ${path} does not hold a turnout state (revision, services); it was left untouched. Fix or move it, or start with --reset-state (which moves it aside)`,
    );
  }
  const state = doc as StateSnapshot;
  // Older files may lack the arrays; fill them so the model can rely on them.
  const services: Record<string, StateSnapshot['services'][string]> = {};
  for (const [name, svc] of Object.entries(state.services)) {
    services[name] = { ...svc, splitHistory: svc.splitHistory ?? [], history: svc.history ?? [] };
  }
  return { revision: state.revision, services };
}
