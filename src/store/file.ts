import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { RevisionMismatchError, StateFileError, StoreUnavailableError } from '../errors.js';
import type { StateSnapshot } from '../model/index.js';
import type { StateStore } from './types.js';

/**
 * Keeps the state in one JSON file, written atomically on every change: a temp file beside it,
 * fsync, rename over, fsync of the directory. A file that cannot be parsed stops start-up with a
 * message naming it and is never overwritten.
 */
export class FileStore implements StateStore {
  readonly kind = 'file' as const;
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

  onChange(): void {
    // One process owns the file.
  }

  async close(): Promise<void> {
    await this.chain;
  }
}

/** Validates the shape enough that a hand-edited or truncated file is refused, not half-used. */
export function parseStateFile(text: string, path: string, onBad: () => void = () => undefined): StateSnapshot {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    onBad();
    throw new StateFileError(
      `state file ${path} is corrupt (${(err as Error).message}); it was left untouched. Fix or move it, or start with --reset-state`,
      { cause: err },
    );
  }
  const d = doc as { revision?: unknown; services?: unknown };
  const ok =
    d !== null &&
    typeof d === 'object' &&
    Number.isInteger(d.revision) &&
    d.services !== null &&
    typeof d.services === 'object' &&
    Object.values(d.services as Record<string, unknown>).every((s) => {
      const svc = s as { split?: unknown; pools?: unknown };
      return svc && typeof svc.split === 'object' && typeof svc.pools === 'object';
    });
  if (!ok) {
    onBad();
    throw new StateFileError(
      `state file ${path} does not hold a turnout state (revision, services); it was left untouched. Fix or move it, or start with --reset-state`,
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
