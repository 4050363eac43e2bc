import { spawn } from 'node:child_process';
import { TurnoutError } from '../errors.js';

/** Set in a successor's environment: it gets its listeners from the supervisor that started it. */
const ENV = 'TURNOUT_SUCCESSOR';

/** How long a new supervisor may take until it serves (its store, its workers, its table). */
const START_MS = 60_000;

/** What a supervisor and the one replacing it say over the IPC channel between them. */
type ToSuccessor = { readonly t: 'listener'; readonly role: 'admin' | 'data' } | { readonly t: 'listeners-sent' };
type ToPredecessor = { readonly t: 'ready'; readonly pid: number; readonly workers: readonly number[] };

/** The listening sockets a supervisor hands to the next one: its admin listener's and the data plane's. */
export interface Listeners {
  readonly admin: object | undefined;
  readonly data: readonly object[];
}

/**
 * `turnout upgrade --supervisor`: starts a new `turnout serve` from the code on disk with this
 * process's arguments, detached (its own session: it lives on when this one exits), hands it the
 * listening sockets over an IPC channel (the same sockets: what is queued on them stays), and
 * resolves once it serves, with its pid. Then the channel closes. A successor that exits or does
 * not serve in time is killed, and this supervisor goes on serving (`upgrade_failed`).
 */
export function startSuccessor(listeners: Listeners, env: Readonly<Record<string, string>>): Promise<{ readonly pid: number; readonly workers: readonly number[] }> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env, [ENV]: '1' },
  });
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new TurnoutError('upgrade_failed', 500, `the new supervisor did not start, this one keeps serving: ${why}`));
    };
    const timer = setTimeout(() => fail(`not serving within ${START_MS}ms`), START_MS);
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`it exited (${signal ?? `code ${code}`})`));
    child.on('message', (m: ToPredecessor) => {
      if (m.t !== 'ready') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.disconnect();
      child.unref();
      resolve({ pid: m.pid, workers: m.workers });
    });
    const send = (m: ToSuccessor, handle?: object): void => {
      child.send(m, handle as never, { keepOpen: true }, () => undefined);
    };
    if (listeners.admin !== undefined) send({ t: 'listener', role: 'admin' }, listeners.admin);
    for (const h of listeners.data) send({ t: 'listener', role: 'data' }, h);
    send({ t: 'listeners-sent' });
  });
}

/** Whether this process was started by `turnout upgrade --supervisor` (its listeners come over IPC). */
export const isSuccessor = (): boolean => process.env[ENV] === '1' && process.send !== undefined;

/** A successor's side: the listeners its predecessor sends (bounded: 10 s). */
export function receiveListeners(): Promise<Listeners> {
  return new Promise((resolve, reject) => {
    let admin: object | undefined;
    const data: object[] = [];
    const timer = setTimeout(() => reject(new Error('the supervisor being replaced sent no listeners within 10s')), 10_000);
    const onMessage = (m: ToSuccessor, handle: object | undefined): void => {
      if (m.t === 'listener' && handle !== undefined) {
        if (m.role === 'admin') admin = handle;
        else data.push(handle);
      } else if (m.t === 'listeners-sent') {
        clearTimeout(timer);
        process.off('message', onMessage);
        resolve({ admin, data });
      }
    };
    process.on('message', onMessage);
  });
}

/** A successor serves: its predecessor drains its tree and exits; the channel between them closes. */
export function tellPredecessorReady(workers: readonly number[]): void {
  process.send?.({ t: 'ready', pid: process.pid, workers } satisfies ToPredecessor, undefined, {}, () => process.disconnect());
  delete process.env[ENV];
}
