import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { ConflictError } from '../errors.js';
import type { StateSnapshot } from '../model/index.js';
import type { ControlPlane, RemoteFacts, Runtime } from '../runtime/index.js';
import type { WorkerInfo } from '../store/index.js';
import type { Telemetry } from '../telemetry/index.js';
import type { Acceptor, ListenAddress } from './acceptor.js';
import { WorkerChild } from './child.js';
import { StateFanOut } from './fan-out.js';
import { HandoffAcceptor } from './handoff.js';
import { ReusePortAcceptor, reusePortAvailable } from './reuseport.js';
import type { ServerHandle } from './reuseport.js';
import type { ToSupervisor } from './protocol.js';
import { workerExecArgv } from './node-flags.js';
import { NO_CRASH, replacementDelay } from './replacement.js';
import { OutcomeReplay } from './replay.js';
import { ReportFold } from './reports.js';
import { RuntimeTracker } from './takeover.js';
import { upgradeWorkers } from './upgrade.js';
import type { UpgradeOutcome } from './upgrade.js';

export interface WorkerPoolOptions {
  readonly count: number;
  /** The worker entry (dist/process/worker-main.js), read from disk at each start: an upgrade runs the code there now. */
  readonly script: string;
  readonly config: Config;
  readonly logger: Logger;
  /** The runtime file (runtimeFilePath): the orphans a dead supervisor left, and this one's workers for the next. */
  readonly runtimeFile?: string;
  /** Listening sockets from the supervisor this one replaces (`turnout upgrade --supervisor`), used instead of binding. */
  readonly listeners?: readonly object[];
}

/**
 * The supervisor's workers: it starts them, gives them their connections (the acceptor), keeps
 * them in step with the control plane (fan-out), folds their reports (RemoteFacts), replaces a
 * worker that dies (with back-off) and replaces all of them on an upgrade.
 */
export class WorkerPool implements RemoteFacts {
  private readonly workers = new Set<WorkerChild>();
  /** The last `tally` asked of the workers. */
  private tallySeq = 0;
  private readonly all = (): Iterable<WorkerChild> => this.workers;
  private readonly acceptor: Acceptor;
  private readonly fanOut: StateFanOut;
  private reports!: ReportFold;
  private config: Config;
  private generation = 1;
  private crash = NO_CRASH;
  private stopping = false;
  /** The first workers served (before, a dying worker fails the start instead of being replaced). */
  private started = false;
  private upgrading = false;
  private readonly sweepTimer: NodeJS.Timeout;
  private runtime!: Runtime;
  private control!: ControlPlane;
  private telemetry!: Telemetry;
  private readonly tracker: RuntimeTracker;
  /** The node flags its workers start with (node-flags.ts); read once, so a bad value fails the start. */
  private readonly execArgv: readonly string[];

  constructor(private readonly opts: WorkerPoolOptions) {
    this.config = opts.config;
    this.execArgv = workerExecArgv(process.env);
    opts.logger.info({ execArgv: this.execArgv }, 'workers start with these node flags');
    this.tracker = new RuntimeTracker(opts.runtimeFile, opts.logger);
    this.acceptor = chooseAcceptor(opts.count, this.all, opts.logger);
    if (opts.listeners !== undefined && opts.listeners.length > 0 && this.acceptor instanceof ReusePortAcceptor) this.acceptor.adopt(opts.listeners as ServerHandle[]);
    this.fanOut = new StateFanOut(this.all, () => this.runtime, opts.logger);
    this.sweepTimer = setInterval(() => {
      for (const w of this.workers) w.replay.sweep();
    }, 60_000);
    this.sweepTimer.unref();
  }

  /** The supervisor's parts (made after the pool: the runtime reads the pool's facts). */
  attach(parts: { readonly runtime: Runtime; readonly control: ControlPlane; readonly telemetry: Telemetry }): void {
    this.runtime = parts.runtime;
    this.control = parts.control;
    this.telemetry = parts.telemetry;
    this.reports = new ReportFold(this.all, parts.runtime, parts.telemetry);
    this.runtime.on('table', () => this.fanOut.health());
  }

  /**
   * Starts the workers and waits until they serve. Reuseport: the slots' sockets are bound first
   * and each worker listens on its own; hand-off: the supervisor listens once they serve.
   */
  async listen(): Promise<ListenAddress> {
    const reuse = this.acceptor.kind === 'reuseport';
    this.opts.logger.info({ acceptor: this.acceptor.kind }, reuse ? 'listener: a socket per worker (SO_REUSEPORT)' : 'listener: the supervisor hands connections to the workers (no SO_REUSEPORT on this runtime)');
    const addr = reuse ? await this.acceptor.listen(this.config.listen.host, this.config.listen.port) : undefined;
    const first = Array.from({ length: this.opts.count }, (_, slot) => this.spawn(this.generation, true, slot));
    try {
      await Promise.all(first.map((w) => w.ready));
    } catch (err) {
      for (const w of first) w.process.kill('SIGKILL');
      throw new Error(`the workers did not start: ${(err as Error).message}`);
    }
    this.started = true;
    this.tracker.takeOver();
    return addr ?? this.acceptor.listen(this.config.listen.host, this.config.listen.port);
  }

  /** How connections reach the workers: a socket each (`reuseport`) or handed over (`handoff`). */
  get acceptorKind(): Acceptor['kind'] {
    return this.acceptor.kind;
  }

  /** The listening sockets a new supervisor gets (`turnout upgrade --supervisor`); none with the hand-off. */
  get listenerHandles(): readonly object[] {
    return this.acceptor instanceof ReusePortAcceptor ? this.acceptor.all : [];
  }

  /** A new supervisor took over: the runtime file is its own from now on. */
  handedOver(): void {
    this.tracker.handedOver();
  }

  // RemoteFacts: what the supervisor's views, drains and waits add up.

  inFlight(service: string, id: string): number {
    return this.reports.inFlight(service, id);
  }

  ejected(service: string, id: string): boolean {
    return this.reports.ejected(service, id);
  }

  /** Requests and upgrades in flight in every worker. */
  get totalInFlight(): number {
    let n = 0;
    for (const w of this.workers) n += w.report?.total ?? 0;
    return n;
  }

  /**
   * Every serving worker reports now (bounded by 500 ms): `GET /v1/fleet` then shows its
   * connections as they are, not as of its last periodic report. Costs nothing per request.
   */
  async tally(): Promise<void> {
    const seq = ++this.tallySeq;
    const asked = [...this.workers].filter((w) => w.state === 'serving');
    for (const w of asked) w.send({ t: 'tally', seq });
    await Promise.all(asked.map((w) => w.until((x) => (x.report?.tally ?? 0) >= seq, 500)));
  }

  workersInfo(): WorkerInfo[] {
    return [...this.tracker.info(), ...[...this.workers].map((w) => w.info()).sort((a, b) => a.generation - b.generation || a.pid - b.pid)];
  }

  // Following the control plane.

  /** A state was applied here: every serving worker applies it before the write answers. */
  followState(state: StateSnapshot): Promise<void> {
    return this.fanOut.state(state);
  }

  /** A reload: every worker serves `config` with `state` before the reload answers. */
  followConfig(config: Config, state: StateSnapshot): Promise<void> {
    this.config = config;
    return this.fanOut.config(config, state);
  }

  // Listener settings (reload).

  updateListen(listen: Config['listen']): void {
    this.config = { ...this.config, listen };
  }

  reloadTls(certFile: string, keyFile: string): void {
    for (const w of this.workers) w.send({ t: 'tls', certFile, keyFile });
  }

  /** Listens on a new address: bound first, then the old listener closes (its connections are the workers'). */
  rebind(host: string, port: number): Promise<ListenAddress> {
    return this.acceptor.rebind(host, port);
  }

  // Workers' lives.

  private spawn(generation: number, replaceable: boolean, slot: number): WorkerChild {
    const w = new WorkerChild({ script: this.opts.script, execArgv: this.execArgv }, generation, slot, new OutcomeReplay(this.telemetry, this.runtime), (c, m) => this.onMessage(c, m));
    w.replaceable = replaceable;
    this.workers.add(w);
    const init = { t: 'init', generation, config: this.config, state: this.fanOut.startsFrom(this.control.current), health: this.runtime.healthFacts(), orphans: this.opts.runtimeFile !== undefined } as const;
    w.send(init, this.acceptor.handleFor(slot));
    this.tracker.write(this.workers);
    void w.ready.then(
      () => {
        if (w.state === 'starting') w.state = 'serving';
        w.replaceable = true;
        this.acceptor.serve(w);
      },
      () => undefined,
    );
    void w.exit.then(({ code, signal }) => this.onExit(w, code, signal));
    return w;
  }

  private onMessage(w: WorkerChild, m: ToSupervisor): void {
    if (m.t === 'report') this.reports.onReport(w, m);
    else if (m.t === 'listening') w.listening = m.seq;
    else if (m.t === 'drained') w.cut = { cutRequests: m.cutRequests, closedUpgrades: m.closedUpgrades };
  }

  private onExit(w: WorkerChild, code: number | null, signal: NodeJS.Signals | null): void {
    const wasServing = w.state !== 'draining' && w.replaceable;
    this.workers.delete(w);
    this.acceptor.lost(w);
    if (!this.stopping) this.tracker.write(this.workers);
    w.replay.sweep();
    this.reports.countsChanged();
    if (!wasServing || this.stopping || !this.started) return;
    // A worker died (or its replacement failed to start): its connections are gone; the others
    // keep serving, and a new one replaces it.
    const { delayMs, next } = replacementDelay(this.crash, Date.now());
    this.crash = next;
    this.opts.logger.error({ worker: w.pid, code, signal, replaceInMs: delayMs }, 'a worker died; starting another');
    const t = setTimeout(() => {
      if (this.stopping) return;
      this.spawn(this.generation, true, w.slot);
    }, delayMs);
    t.unref();
  }

  /** New workers from the code on disk; once they serve, the old ones drain and exit (see upgradeWorkers). */
  async upgrade(wait: boolean): Promise<UpgradeOutcome> {
    if (this.stopping) throw new ConflictError('turnout is stopping');
    if (this.upgrading) throw new ConflictError('an upgrade is already under way');
    this.upgrading = true;
    const generation = ++this.generation;
    try {
      return await upgradeWorkers({
        generation,
        old: [...this.workers].filter((w) => w.state !== 'draining'),
        spawn: () => Array.from({ length: this.opts.count }, (_, slot) => this.spawn(generation, false, slot)),
        drain: (w) => this.drainWorker(w, this.config.shutdownTimeoutMs),
        wait,
        logger: this.opts.logger,
      });
    } catch (err) {
      this.generation--;
      throw err;
    } finally {
      this.upgrading = false;
    }
  }

  /** Asks a worker to drain and exit; resolves with what its deadline cut. */
  private async drainWorker(w: WorkerChild, timeoutMs: number): Promise<WorkerChild['cut']> {
    w.state = 'draining';
    w.send({ t: 'drain', timeoutMs });
    const kill = setTimeout(() => w.process.kill('SIGKILL'), timeoutMs + 5_000);
    kill.unref();
    await w.exit;
    clearTimeout(kill);
    return w.cut;
  }

  /** Stops listening, drains every worker (up to `timeoutMs`), and resolves with what was cut. */
  async shutdown(timeoutMs: number): Promise<{ cutRequests: number; closedUpgrades: number }> {
    this.stopping = true;
    const closed = this.acceptor.close();
    const cuts = await Promise.all([...this.workers].map((w) => this.drainWorker(w, timeoutMs)));
    await closed;
    clearInterval(this.sweepTimer);
    this.tracker.remove();
    return cuts.reduce((a, c) => ({ cutRequests: a.cutRequests + c.cutRequests, closedUpgrades: a.closedUpgrades + c.closedUpgrades }), { cutRequests: 0, closedUpgrades: 0 });
  }

  /** Ends every worker at once (a failed start, tests). */
  async close(): Promise<void> {
    this.stopping = true;
    void this.acceptor.close();
    const exits = [...this.workers].map((w) => w.exit);
    for (const w of this.workers) w.process.kill('SIGKILL');
    await Promise.all(exits);
    clearInterval(this.sweepTimer);
    this.tracker.remove();
  }
}

/**
 * A socket per worker where the runtime has SO_REUSEPORT (Node >= 22.12 on Linux), else the
 * hand-off. TURNOUT_ACCEPTOR=handoff chooses the hand-off anyway (comparisons, the benchmarks).
 */
function chooseAcceptor(count: number, workers: () => Iterable<WorkerChild>, logger: Logger): Acceptor {
  if (process.env.TURNOUT_ACCEPTOR !== 'handoff' && reusePortAvailable()) return new ReusePortAcceptor(count, workers, logger);
  return new HandoffAcceptor(workers, logger);
}
