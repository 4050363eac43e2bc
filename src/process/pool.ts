import net from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { ConflictError, TurnoutError } from '../errors.js';
import type { ServiceRecord, StateSnapshot } from '../model/index.js';
import type { ControlPlane, RemoteFacts, Runtime } from '../runtime/index.js';
import type { WorkerInfo } from '../store/index.js';
import type { Telemetry } from '../telemetry/index.js';
import { WorkerChild } from './child.js';
import { forWorkers, stateForWorkers } from './protocol.js';
import type { ToSupervisor, WorkerReport } from './protocol.js';
import { OutcomeReplay } from './replay.js';

export interface WorkerPoolOptions {
  readonly count: number;
  /** The worker entry (dist/process/worker-main.js), read from disk at each start: an upgrade runs the code there now. */
  readonly script: string;
  readonly config: Config;
  readonly logger: Logger;
}

/** What an upgrade answers. */
export interface UpgradeOutcome {
  readonly generation: number;
  readonly started: readonly number[];
  readonly replaced: readonly number[];
  /** `wait`: the old workers exited (false: the drain deadline cut something). */
  readonly drained?: boolean;
}

/** How long a new worker may take to build its table. */
const START_MS = 30_000;
/** How long a write waits for the workers to apply its state before answering anyway. */
const APPLY_MS = 2_000;
/** Accepted connections kept while no worker can take them (a crash, a slow start). */
const MAX_PENDING = 4096;

/**
 * The supervisor's data plane: it owns the listening socket and hands each accepted connection
 * to the serving worker with the fewest open connections; it forwards every state, health
 * result and config to the workers and waits for them to apply it; it folds their reports into
 * the supervisor's telemetry and facts (RemoteFacts: in-flight and ejections per backend); it
 * replaces a worker that dies (with back-off) and replaces all of them on an upgrade.
 */
export class WorkerPool implements RemoteFacts {
  private readonly workers = new Set<WorkerChild>();
  private listener: Server | undefined;
  private readonly pending: Socket[] = [];
  private config: Config;
  private generation = 1;
  private seq = 0;
  private turn = 0;
  private crashes = 0;
  private lastCrashAt = 0;
  private stopping = false;
  /** The first workers served (before, a dying worker fails the start instead of being replaced). */
  private started = false;
  private upgrading = false;
  private healthSent = '';
  private readonly waitingSent = new Map<string, number>();
  private countsShape = '';
  /** The workers' reports summed: in flight by service and backend id, and ejected `service/id`s. */
  private merged: { readonly inFlight: Map<string, Map<string, number>>; readonly ejected: ReadonlySet<string> } = { inFlight: new Map(), ejected: new Set() };
  /** The services of the last state sent to the workers (deltas are taken against it). */
  private sent: StateSnapshot['services'] = {};
  private readonly sweepTimer: NodeJS.Timeout;
  private runtime!: Runtime;
  private control!: ControlPlane;
  private telemetry!: Telemetry;

  constructor(private readonly opts: WorkerPoolOptions) {
    this.config = opts.config;
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
    this.runtime.on('table', () => this.sendHealth());
  }

  /** Starts the workers, waits until they serve, then listens. */
  async listen(): Promise<{ host: string; port: number }> {
    const first = Array.from({ length: this.opts.count }, () => this.spawn(this.generation));
    try {
      await Promise.all(first.map((w) => w.ready));
    } catch (err) {
      for (const w of first) w.process.kill('SIGKILL');
      throw new Error(`the workers did not start: ${(err as Error).message}`);
    }
    this.started = true;
    this.listener = this.makeListener();
    return this.bind(this.listener, this.config.listen.host, this.config.listen.port);
  }

  // RemoteFacts: what the supervisor's views, drains and waits add up.

  inFlight(service: string, id: string): number {
    // Not heard from since the last state: such a worker may have started requests on it.
    const revision = this.runtime.revision;
    let stale = 0;
    for (const w of this.workers) if (w.state !== 'starting' && (w.report === undefined || w.report.revision < revision)) stale++;
    return stale + (this.merged.inFlight.get(service)?.get(id) ?? 0);
  }

  ejected(service: string, id: string): boolean {
    return this.merged.ejected.size > 0 && this.merged.ejected.has(`${service}/${id}`);
  }

  /** Requests and upgrades in flight in every worker. */
  get totalInFlight(): number {
    let n = 0;
    for (const w of this.workers) n += w.report?.total ?? 0;
    return n;
  }

  workersInfo(): WorkerInfo[] {
    return [...this.workers].map((w) => w.info()).sort((a, b) => a.generation - b.generation || a.pid - b.pid);
  }

  // Following the control plane.

  /** A state was applied here: every serving worker applies it before the write answers. */
  async followState(state: StateSnapshot): Promise<void> {
    const changed: Record<string, ServiceRecord> = {};
    for (const [name, svc] of Object.entries(state.services)) if (this.sent[name] !== svc) changed[name] = forWorkers(svc);
    const removed = Object.keys(this.sent).filter((name) => !Object.hasOwn(state.services, name));
    this.sent = state.services;
    for (const w of this.workers) w.send({ t: 'state', revision: state.revision, changed, removed });
    await this.allServing((w) => (w.report?.revision ?? 0) >= state.revision, 'apply revision ' + state.revision);
  }

  /** A reload: every worker serves `config` with `state` before the reload answers. */
  async followConfig(config: Config, state: StateSnapshot): Promise<void> {
    this.config = config;
    this.sendHealth();
    const seq = ++this.seq;
    this.sent = state.services;
    const whole = stateForWorkers(state);
    for (const w of this.workers) w.send({ t: 'config', seq, config, state: whole });
    await this.allServing((w) => (w.report?.ack ?? 0) >= seq, 'apply the reloaded config');
  }

  private async allServing(test: (w: WorkerChild) => boolean, what: string): Promise<void> {
    const serving = [...this.workers].filter((w) => w.state === 'serving');
    const done = await Promise.all(serving.map((w) => w.until(test, APPLY_MS)));
    const late = serving.filter((w, i) => !done[i] && !w.exited);
    if (late.length > 0) this.opts.logger.warn({ workers: late.map((w) => w.pid) }, `worker(s) did not ${what} within ${APPLY_MS}ms`);
  }

  /** The health the supervisor's checks see, to every worker when it changed. */
  private sendHealth(): void {
    const health = this.runtime.healthFacts();
    const shape = JSON.stringify(Object.entries(health).map(([k, v]) => [k, v.health]));
    if (shape === this.healthSent) return;
    this.healthSent = shape;
    for (const w of this.workers) w.send({ t: 'health', health });
  }

  // Listener settings (reload).

  updateListen(listen: Config['listen']): void {
    this.config = { ...this.config, listen };
  }

  reloadTls(certFile: string, keyFile: string): void {
    for (const w of this.workers) w.send({ t: 'tls', certFile, keyFile });
  }

  /** Listens on a new address: bound first, then the old listener closes (its connections are the workers'). */
  async rebind(host: string, port: number): Promise<{ host: string; port: number }> {
    const next = this.makeListener();
    const addr = await this.bind(next, host, port);
    const old = this.listener;
    this.listener = next;
    old?.close();
    return addr;
  }

  // Workers' lives.

  private spawn(generation: number, replaceable = true): WorkerChild {
    const w = new WorkerChild(this.opts.script, generation, new OutcomeReplay(this.telemetry, this.runtime), (c, m) => this.onMessage(c, m));
    w.replaceable = replaceable;
    this.workers.add(w);
    // The state it starts from is the one the next delta (followState) builds on.
    this.sent = this.control.current.services;
    w.send({ t: 'init', generation, config: this.config, state: stateForWorkers(this.control.current), health: this.runtime.healthFacts() });
    void w.ready.then(
      () => {
        if (w.state === 'starting') w.state = 'serving';
        w.replaceable = true;
        this.flushPending();
      },
      () => undefined,
    );
    void w.exit.then(({ code, signal }) => this.onExit(w, code, signal));
    return w;
  }

  private onMessage(w: WorkerChild, m: ToSupervisor): void {
    if (m.t === 'report') this.onReport(w, m);
    else if (m.t === 'drained') w.cut = { cutRequests: m.cutRequests, closedUpgrades: m.closedUpgrades };
  }

  private onReport(w: WorkerChild, r: WorkerReport): void {
    const { rec: _rec, strings: _s, events, ...facts } = r;
    w.report = facts;
    w.received(r.accepted);
    w.replay.apply(r);
    for (const [service, ev] of events) this.runtime.event(service, ev);
    this.countsChanged();
  }

  /** Workers' counts changed: hold gauges, drains and waits look again. */
  private countsChanged(): void {
    const waiting = new Map<string, number>();
    for (const w of this.workers) for (const [svc, n] of Object.entries(w.report?.waiting ?? {})) waiting.set(svc, (waiting.get(svc) ?? 0) + n);
    for (const svc of new Set([...waiting.keys(), ...this.waitingSent.keys()])) {
      const n = waiting.get(svc) ?? 0;
      if ((this.waitingSent.get(svc) ?? 0) === n) continue;
      this.telemetry.onHoldWaiting(svc, n);
      if (n === 0) this.waitingSent.delete(svc);
      else this.waitingSent.set(svc, n);
    }
    const shape = JSON.stringify([...this.workers].map((w) => [w.state, w.report?.revision, w.report?.inFlight, w.report?.ejected]));
    if (shape === this.countsShape) return;
    this.countsShape = shape;
    // Summed once per change, so the views' per-backend questions are map lookups.
    const inFlight = new Map<string, Map<string, number>>();
    const ejected = new Set<string>();
    for (const w of this.workers) {
      for (const [key, n] of Object.entries(w.report?.inFlight ?? {})) {
        const slash = key.indexOf('/');
        const service = key.slice(0, slash);
        let ids = inFlight.get(service);
        if (ids === undefined) inFlight.set(service, (ids = new Map()));
        ids.set(key.slice(slash + 1), (ids.get(key.slice(slash + 1)) ?? 0) + n);
      }
      for (const key of w.report?.ejected ?? []) ejected.add(key);
    }
    this.merged = { inFlight, ejected };
    this.runtime.remoteChanged();
  }

  private onExit(w: WorkerChild, code: number | null, signal: NodeJS.Signals | null): void {
    const wasServing = w.state !== 'draining' && w.replaceable;
    this.workers.delete(w);
    // Connections sent that it never received: unread, they go to another worker.
    for (const s of w.takeUnreceived()) this.dispatch(s);
    w.replay.sweep();
    this.countsChanged();
    if (!wasServing || this.stopping || !this.started) return;
    // A worker died (or its replacement failed to start): its connections are gone; the others
    // keep serving, and a new one replaces it.
    const now = Date.now();
    if (now - this.lastCrashAt > 30_000) this.crashes = 0;
    this.lastCrashAt = now;
    const delay = Math.min(10_000, 100 * 2 ** this.crashes);
    this.crashes++;
    this.opts.logger.error({ worker: w.pid, code, signal, replaceInMs: delay }, 'a worker died; starting another');
    const t = setTimeout(() => {
      if (this.stopping) return;
      this.spawn(this.generation);
    }, delay);
    t.unref();
  }

  /**
   * New workers from the code on disk; once they serve, the old ones drain (no new connection,
   * Connection: close to keep-alive clients, in-flight finishes, upgraded connections get 1001 at
   * the deadline) and exit. With `wait`, resolves once they exited.
   */
  async upgrade(wait: boolean): Promise<UpgradeOutcome> {
    if (this.stopping) throw new ConflictError('turnout is stopping');
    if (this.upgrading) throw new ConflictError('an upgrade is already under way');
    this.upgrading = true;
    try {
      const old = [...this.workers].filter((w) => w.state !== 'draining');
      const generation = ++this.generation;
      const fresh = Array.from({ length: this.opts.count }, () => this.spawn(generation, false));
      try {
        await Promise.all(fresh.map((w) => Promise.race([w.ready, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`worker ${w.pid} was not ready within ${START_MS}ms`)), START_MS).unref())])));
      } catch (err) {
        for (const w of fresh) {
          w.state = 'draining';
          w.process.kill('SIGKILL');
        }
        await Promise.all(fresh.map((w) => w.exit));
        this.generation--;
        throw new TurnoutError('upgrade_failed', 500, `the new workers did not start, the old ones keep serving: ${(err as Error).message}`);
      }
      const exits = old.map((w) => this.drainWorker(w, this.config.shutdownTimeoutMs));
      this.opts.logger.info({ generation, started: fresh.map((w) => w.pid), replaced: old.map((w) => w.pid) }, 'upgrade: new workers serve; the old ones drain');
      const outcome = { generation, started: fresh.map((w) => w.pid), replaced: old.map((w) => w.pid) };
      if (!wait) return outcome;
      const cuts = await Promise.all(exits);
      return { ...outcome, drained: cuts.every((c) => c.cutRequests === 0 && c.closedUpgrades === 0) };
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

  // Connections.

  private makeListener(): Server {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => this.dispatch(socket));
    server.on('error', (err) => this.opts.logger.error({ err: err.message }, 'listener error'));
    return server;
  }

  private bind(server: Server, host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const a = server.address();
        resolve(a === null || typeof a === 'string' ? { host, port } : { host: a.address, port: a.port });
      });
    });
  }

  /**
   * To the serving worker with the fewest open connections (ties in turn); kept while none
   * serves. Least-open rather than plain round robin: a worker that replaced a dead one, or a
   * new one after an upgrade, catches up instead of staying behind for good.
   */
  private dispatch(socket: Socket): void {
    let best: WorkerChild | undefined;
    let bestOpen = Infinity;
    const all = [...this.workers];
    const start = this.turn++ % Math.max(1, all.length);
    for (let i = 0; i < all.length; i++) {
      const w = all[(start + i) % all.length] as WorkerChild;
      if (w.state !== 'serving' || w.exited) continue;
      const open = w.open;
      if (open < bestOpen) {
        best = w;
        bestOpen = open;
      }
    }
    if (best === undefined) {
      if (this.pending.length < MAX_PENDING && !this.stopping) this.pending.push(socket);
      else socket.destroy();
      return;
    }
    best.handOver(socket, () => {
      if (!socket.destroyed) this.dispatch(socket);
    });
  }

  private flushPending(): void {
    for (const s of this.pending.splice(0)) if (!s.destroyed) this.dispatch(s);
  }

  /** Stops listening, drains every worker (up to `timeoutMs`), and resolves with what was cut. */
  async shutdown(timeoutMs: number): Promise<{ cutRequests: number; closedUpgrades: number }> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) => (this.listener === undefined ? resolve() : this.listener.close(() => resolve())));
    for (const s of this.pending.splice(0)) s.destroy();
    const cuts = await Promise.all([...this.workers].map((w) => this.drainWorker(w, timeoutMs)));
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000).unref())]);
    clearInterval(this.sweepTimer);
    return cuts.reduce((a, c) => ({ cutRequests: a.cutRequests + c.cutRequests, closedUpgrades: a.closedUpgrades + c.closedUpgrades }), { cutRequests: 0, closedUpgrades: 0 });
  }

  /** Ends every worker at once (a failed start, tests). */
  async close(): Promise<void> {
    this.stopping = true;
    this.listener?.close();
    for (const s of this.pending.splice(0)) s.destroy();
    const exits = [...this.workers].map((w) => w.exit);
    for (const w of this.workers) w.process.kill('SIGKILL');
    await Promise.all(exits);
    clearInterval(this.sweepTimer);
  }
}
