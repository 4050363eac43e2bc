import type { Logger } from 'pino';
import type { WorkerInfo } from '../store/index.js';
import type { WorkerChild } from './child.js';
import { isRunning, orphansIn, readRuntimeFile, removeRuntimeFile, signalIfRunning, startTimeOf, writeRuntimeFile } from './runtime-file.js';
import type { RuntimeRecord } from './runtime-file.js';

/** How often the orphans told to drain are looked at, until they exited. */
const POLL_MS = 250;

/**
 * The supervisor's runtime file and the orphans it names. At start, the workers a dead supervisor
 * of the same config left serving (orphans, found by pid and start time); once this supervisor's
 * own workers serve, they are told to drain (SIGTERM, only while the pid is still theirs) and
 * shown in `/v1/fleet` as `orphaned` until they exited. While it runs, the file names this
 * supervisor and its workers, for the next one.
 */
export class RuntimeTracker {
  private orphans: RuntimeRecord['workers'] = [];
  private readonly self = { pid: process.pid, start: startTimeOf(process.pid) ?? 0 };
  private readonly starts = new Map<number, number>();
  private poll: NodeJS.Timeout | undefined;
  private handed = false;

  constructor(
    private readonly path: string | undefined,
    private readonly logger: Logger,
  ) {
    if (path === undefined) return;
    this.orphans = orphansIn(readRuntimeFile(path), isRunning, process.pid);
    if (this.orphans.length > 0) this.logger.warn({ orphans: this.orphans.map((o) => o.pid) }, 'found workers of a supervisor that died still serving: they drain once the new workers serve');
  }

  /** This supervisor and its workers, to the file. */
  write(workers: Iterable<WorkerChild>): void {
    if (this.path === undefined || this.handed) return;
    const list: RuntimeRecord['workers'][number][] = [];
    for (const w of workers) {
      if (w.exited) continue;
      let start = this.starts.get(w.pid);
      if (start === undefined) {
        start = startTimeOf(w.pid) ?? 0;
        this.starts.set(w.pid, start);
      }
      list.push({ pid: w.pid, start, generation: w.generation, startedAt: w.startedAt });
    }
    for (const pid of this.starts.keys()) if (!list.some((w) => w.pid === pid)) this.starts.delete(pid);
    writeRuntimeFile(this.path, { supervisor: this.self, workers: [...this.orphans, ...list] });
  }

  /** This supervisor's workers serve: the orphans drain and exit. */
  takeOver(): void {
    if (this.orphans.length === 0) return;
    const told = this.orphans.filter((o) => signalIfRunning(o, 'SIGTERM'));
    this.logger.info({ orphans: told.map((o) => o.pid) }, 'the new workers serve: the orphaned workers drain and exit');
    this.orphans = told;
    this.poll = setInterval(() => {
      const before = this.orphans.length;
      this.orphans = this.orphans.filter(isRunning);
      if (this.orphans.length === before) return;
      if (this.orphans.length === 0) {
        clearInterval(this.poll);
        this.logger.info('the orphaned workers exited');
      }
    }, POLL_MS);
    this.poll.unref();
  }

  /** The orphans still running, as `/v1/fleet` shows them. */
  info(): WorkerInfo[] {
    return this.orphans.map((o) => ({ pid: o.pid, generation: o.generation, state: 'orphaned', startedAt: o.startedAt, revision: 0, connections: { total: 0, open: 0 }, inFlight: 0 }));
  }

  /** A new supervisor took over (`turnout upgrade --supervisor`): the file is its own. */
  handedOver(): void {
    this.handed = true;
  }

  /** A clean stop: the file goes (while it is still this supervisor's). */
  remove(): void {
    clearInterval(this.poll);
    if (this.path !== undefined && readRuntimeFile(this.path)?.supervisor.pid === process.pid) removeRuntimeFile(this.path);
  }
}
