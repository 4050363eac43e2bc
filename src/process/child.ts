import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { WorkerInfo } from '../store/index.js';
import type { ToSupervisor, ToWorker, WorkerReport } from './protocol.js';
import type { OutcomeReplay } from './replay.js';

export type WorkerState = WorkerInfo['state'];

/** One worker process as the supervisor sees it: its channel, its last report, its life. */
export class WorkerChild {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly startedAt = new Date().toISOString();
  state: WorkerState = 'starting';
  exited = false;
  /** Its last report (outcome records are not kept). */
  report: Omit<WorkerReport, 'rec' | 'strings' | 'events'> | undefined;
  /** Connections handed to it in all. */
  handed = 0;
  /**
   * Sockets sent and not yet confirmed received, by `seq`. They are sent with `keepOpen`: the
   * supervisor's copy closes once the worker reports it received them, and if it dies first,
   * the ones it never got go to another worker instead of hanging unanswered.
   */
  private readonly transit = new Map<number, { readonly socket: Socket; written: boolean }>();
  /** When it became ready (epoch ms). */
  readyAt = 0;
  /**
   * Replaced by another when it dies. An upgrade's new worker is not until it is ready: if it
   * fails to start, the upgrade fails and the old workers keep serving.
   */
  replaceable = true;
  /** What its drain had to cut (its `drained` message). */
  cut = { cutRequests: 0, closedUpgrades: 0 };
  readonly ready: Promise<void>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: { readonly test: (w: WorkerChild) => boolean; readonly resolve: () => void }[] = [];

  /** The `listen` messages it confirmed (reuseport: it moved to a new listener). */
  listening = 0;
  private listenSeq = 0;

  constructor(
    /** The worker entry and the node flags it starts with. */
    entry: { readonly script: string; readonly execArgv: readonly string[] },
    readonly generation: number,
    /** Its place among the workers (reuseport: the listening socket it accepts on). */
    readonly slot: number,
    /** Its outcome records into the supervisor's telemetry (its own string table). */
    readonly replay: OutcomeReplay,
    onMessage: (w: WorkerChild, m: ToSupervisor) => void,
  ) {
    this.process = fork(entry.script, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...entry.execArgv] });
    this.pid = this.process.pid ?? 0;
    this.exit = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exited = true;
        for (const w of this.waiters.splice(0)) w.resolve();
        resolve({ code, signal });
      });
    });
    this.ready = new Promise((resolve, reject) => {
      const onReady = (m: ToSupervisor): void => {
        if (m.t !== 'ready') return;
        this.process.off('message', onReady);
        this.readyAt = Date.now();
        resolve();
      };
      this.process.on('message', onReady);
      void this.exit.then(({ code, signal }) => reject(new Error(`worker ${this.pid} exited before it was ready (${signal ?? `code ${code}`})`)));
    });
    this.ready.catch(() => undefined);
    this.process.on('message', (m: ToSupervisor) => {
      onMessage(this, m);
      this.check();
    });
    // A channel error (the worker died mid-send) shows as its exit.
    this.process.on('error', () => undefined);
  }

  /** A message, with a listening socket as its handle (reuseport) when given. */
  send(msg: ToWorker, handle?: object): void {
    if (this.exited || !this.process.connected) return;
    this.process.send(msg, handle as Socket | undefined, { keepOpen: true }, () => undefined);
  }

  /** Moves it to a new listening socket; resolves true once it listens there (false: not within 2 s). */
  listenOn(handle: object): Promise<boolean> {
    const seq = ++this.listenSeq;
    this.send({ t: 'listen', seq }, handle);
    return this.until((w) => w.listening >= seq, 2_000);
  }

  /** Hands a client connection over; `failed` runs when it could not be sent (the socket is still ours). */
  handOver(socket: Socket, failed: () => void): void {
    if (this.exited || !this.process.connected) return failed();
    const seq = ++this.handed;
    const entry = { socket, written: false };
    this.transit.set(seq, entry);
    this.process.send({ t: 'conn', seq } satisfies ToWorker, socket, { keepOpen: true }, (err) => {
      if (err !== null && err !== undefined) {
        if (this.transit.delete(seq)) failed();
      } else {
        // Written to the channel: from now on the worker may have it (and read from it).
        entry.written = true;
      }
    });
  }

  /** Its report says it received every connection up to `accepted`: our copies close. */
  received(accepted: number): void {
    for (const [seq, { socket }] of this.transit) {
      if (seq > accepted) break;
      this.transit.delete(seq);
      socket.destroy();
    }
  }

  /**
   * It exited: the sockets still queued in this process (Node sends one handle at a time and
   * queues the rest) were never its and are unread: they go to another worker. One written to
   * the channel but not yet reported received may have been read by it: closed, so its client
   * fails at once instead of waiting for a head that is gone.
   */
  takeUnreceived(): Socket[] {
    const out: Socket[] = [];
    for (const { socket, written } of this.transit.values()) {
      if (socket.destroyed) continue;
      if (written) socket.destroy();
      else out.push(socket);
    }
    this.transit.clear();
    return out;
  }

  /** Resolves when `test` holds for it (checked on each of its messages), or it exited, or `ms` passed. */
  until(test: (w: WorkerChild) => boolean, ms: number): Promise<boolean> {
    if (this.exited || test(this)) return Promise.resolve(test(this));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(entry);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      }, ms);
      timer.unref();
      const entry = {
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve(test(this));
        },
      };
      this.waiters.push(entry);
    });
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (!w.test(this)) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Connections open in it: as it last reported, plus those handed since that it had not received yet. */
  get open(): number {
    return (this.report?.open ?? 0) + this.transit.size;
  }

  info(): WorkerInfo {
    return {
      pid: this.pid,
      generation: this.generation,
      state: this.state,
      startedAt: this.startedAt,
      revision: this.report?.revision ?? 0,
      connections: { total: Math.max(this.handed, this.report?.accepted ?? 0), open: this.open },
      inFlight: this.report?.total ?? 0,
    };
  }
}
