import type { ToSupervisor, ToWorker } from './protocol.js';
import { Worker } from './worker.js';

/**
 * A worker process's entry (forked by the supervisor with an IPC channel). It waits for its
 * `init`, serves, and drains on `drain`, on SIGTERM/SIGINT (a service manager stopping the whole
 * group) or when the supervisor goes away.
 */
if (process.send === undefined) {
  process.stderr.write('turnout: the worker runs under `turnout serve`, not on its own\n');
  process.exit(2);
}
const send = (m: ToSupervisor, sent?: () => void): void => {
  process.send?.(m, undefined, {}, () => sent?.());
};
let worker: Worker | undefined;
const early: [ToWorker, unknown][] = [];
let drainMs = 30_000;
const stop = (): void => {
  if (worker === undefined) process.exit(0);
  void worker.drain(drainMs);
};
// SIGTERM: the supervisor's service manager stopping the group, or a new supervisor taking over from an orphan.
process.on('message', (msg: ToWorker, handle: object | null | undefined) => {
  if (worker !== undefined) return worker.handle(msg, handle);
  if (msg.t !== 'init') {
    early.push([msg, handle]);
    return;
  }
  drainMs = msg.config.shutdownTimeoutMs;
  const w = new Worker(msg.config, send, () => process.exit(0));
  w.start(msg, handle ?? undefined).then(
    () => {
      worker = w;
      for (const [m, h] of early.splice(0)) w.handle(m, h);
    },
    (err: unknown) => {
      process.stderr.write(`turnout worker ${process.pid}: cannot start: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
});
// The supervisor went away: an orphan serves on (Worker.orphaned); one still starting exits.
process.on('disconnect', () => (worker === undefined ? process.exit(0) : worker.orphaned()));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
