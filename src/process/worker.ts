import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { StateSnapshot } from '../model/index.js';
import { isEjected } from '../health/index.js';
import { ProxyServer, collectStartupGarbage } from '../proxy/index.js';
import { Runtime } from '../runtime/index.js';
import type { ServiceEvent } from '../runtime/index.js';
import { createLogger } from '../telemetry/index.js';
import type { ToSupervisor, ToWorker } from './protocol.js';
import { closeGently } from './orphan.js';
import { RelayTelemetry } from './relay-telemetry.js';
import { ReportPace, TICK_MS } from './report-pace.js';
import type { ReportFacts } from './report-pace.js';

/** Events only a worker can know (its own traffic); the supervisor writes the others itself. */
const FORWARDED = new Set(['ejected', 'ejection_end', 'retries_exhausted', 'hold_start', 'hold_end']);


/**
 * An idle keep-alive connection of a draining worker is closed once idle this long; a busy one
 * gets Connection: close on its next answer (its client reconnects, to a new worker).
 */
const DRAIN_IDLE_GRACE_MS = 1000;

/**
 * One worker process: serves the data plane on connections its supervisor hands it, with a
 * runtime built from the states, health results and config the supervisor sends. It reports its
 * counts and outcomes back; it never writes the state and never probes a backend.
 */
export class Worker {
  private readonly runtime: Runtime;
  private readonly proxy: ProxyServer;
  private readonly relay = new RelayTelemetry();
  private readonly events: [string, Omit<ServiceEvent, 'time'>][] = [];
  private readonly log: Logger;
  private readonly timer: NodeJS.Timeout;
  /** The services of the last state applied (the next delta builds on them). */
  private services: StateSnapshot['services'] = {};
  private accepted = 0;
  private draining: Promise<void> | undefined;
  /** It accepts on a listening socket of its own (reuseport), not on connections handed to it. */
  private ownListener = false;
  /** Its supervisor is gone (the IPC channel closed): it serves on its own until `orphanTimeout`. */
  private orphanedAt = 0;
  /** Its supervisor keeps a runtime file: a new one can take over from it, so it serves on as an orphan. */
  private orphanable = false;
  private config: Config;
  private readonly pace = new ReportPace(
    () => !this.ownListener,
    (key) => !this.runtime.inRotation(key),
    () => this.draining !== undefined,
  );

  constructor(
    config: Config,
    private readonly send: (m: ToSupervisor, sent?: () => void) => void,
    /** Ends the process once drained. */
    private readonly exit: () => void,
  ) {
    this.config = config;
    this.log = createLogger(config.log.level).child({ worker: process.pid });
    this.runtime = new Runtime({
      config,
      logger: this.log.child({ component: 'runtime' }),
      telemetry: this.relay,
      givenHealth: true,
      balancerStart: () => Math.floor(Math.random() * 0x1_0000_0000),
      onEvent: (service, ev) => {
        if (FORWARDED.has(ev.type)) this.events.push([service, { ...ev, details: { ...ev.details, worker: process.pid } }]);
      },
    });
    this.proxy = new ProxyServer({
      listen: config.listen,
      tables: this.runtime,
      observer: this.runtime.observer,
      logger: this.log.child({ component: 'access' }),
      accessLog: config.log.access,
      accessSample: config.log.accessSample,
    });
    this.runtime.on('table', () => this.proxy.tableChanged());
    this.timer = setInterval(() => this.report(false), TICK_MS);
  }

  /**
   * Builds the first table; then the worker may get connections: it listens on `listener` (its
   * slot's SO_REUSEPORT socket) when one came with the `init`, else they are handed to it.
   */
  async start(msg: Extract<ToWorker, { t: 'init' }>, listener?: object): Promise<void> {
    this.services = msg.state.services;
    this.runtime.setHealth(msg.health);
    this.runtime.applyState(msg.state);
    await this.runtime.warmUp();
    this.orphanable = msg.orphans === true;
    collectStartupGarbage();
    if (listener !== undefined) await this.listenOn(listener);
    this.send({ t: 'ready', revision: this.runtime.revision });
    this.report(true);
  }

  handle(msg: ToWorker, handle: unknown): void {
    switch (msg.t) {
      case 'conn':
        if (handle !== undefined && handle !== null) {
          this.accepted = msg.seq;
          this.proxy.accept(handle as Socket);
        }
        break;
      case 'listen':
        if (handle !== undefined && handle !== null) {
          this.listenOn(handle).then(
            () => this.send({ t: 'listening', seq: msg.seq }),
            (err: unknown) => this.log.error({ err: (err as Error).message }, 'could not listen on the new socket'),
          );
        }
        break;
      case 'state': {
        const services = { ...this.services };
        for (const name of msg.removed) delete services[name];
        Object.assign(services, msg.changed);
        this.services = services;
        this.runtime.applyState({ revision: msg.revision, services });
        this.report(true);
        break;
      }
      case 'health':
        this.runtime.setHealth(msg.health);
        break;
      case 'config':
        void this.reconfigure(msg);
        break;
      case 'tls':
        this.proxy.reloadTls(msg.certFile, msg.keyFile);
        break;
      case 'drain':
        void this.drain(msg.timeoutMs);
        break;
      case 'tally':
        this.report(true, undefined, msg.seq);
        break;
      default:
        break;
    }
  }

  /** Accepts on `handle` from now on (the last listener stops accepting; its connections stay). */
  private async listenOn(handle: object): Promise<void> {
    await this.proxy.rebind('', 0, handle);
    this.ownListener = true;
    this.proxy.server.on('connection', () => this.accepted++);
  }

  /**
   * The supervisor went away (crash, SIGKILL). With a listening socket of its own, the worker
   * keeps serving open and new connections with the last state, health and settings it had
   * (passive ejection goes on here) until a new supervisor tells it to drain (SIGTERM) or
   * `orphanTimeout` passes. Without one (the hand-off) nothing new can reach it, and without a
   * runtime file (a supervisor embedded in another program, the tests) none can take over: it drains.
   */
  orphaned(): void {
    if (!this.ownListener || !this.orphanable) {
      void this.drain(this.config.shutdownTimeoutMs);
      return;
    }
    if (this.orphanedAt !== 0) return;
    this.orphanedAt = Date.now();
    this.log.warn({ orphanTimeoutMs: this.config.orphanTimeoutMs }, 'orphaned: the supervisor is gone; serving on with the last state, health and settings until a new supervisor takes over or orphanTimeout passes');
    const timer = setTimeout(() => {
      this.log.warn('orphanTimeout passed: draining and exiting');
      void this.drain(this.config.shutdownTimeoutMs);
    }, this.config.orphanTimeoutMs);
    timer.unref();
  }

  private async reconfigure(msg: Extract<ToWorker, { t: 'config' }>): Promise<void> {
    try {
      this.services = msg.state.services;
      this.config = msg.config;
      await this.runtime.reconfigure(msg.config, msg.state);
      this.proxy.updateListen(msg.config.listen);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'could not apply the reloaded config');
    }
    this.report(true, msg.seq);
  }

  /**
   * Stops taking connections, answers keep-alive clients with Connection: close, lets in-flight
   * requests finish (and waiting ones wait) up to `timeoutMs`, closes upgraded connections
   * (WebSocket 1001) at the deadline, reports, and exits.
   */
  drain(timeoutMs: number): Promise<void> {
    this.draining ??= (async () => {
      // An orphan holds the last copy of its listening socket: what is queued on it would be reset.
      if (this.orphanedAt !== 0) await closeGently(this.proxy.server);
      const cut = await this.proxy.shutdown(timeoutMs, { keepWaiting: true, idleGraceMs: DRAIN_IDLE_GRACE_MS });
      this.report(true);
      clearInterval(this.timer);
      await this.runtime.close();
      this.log.flush();
      // Exits once the last message left (or at once when the supervisor is gone).
      if (process.connected) this.send({ t: 'drained', ...cut }, () => this.exit());
      else this.exit();
    })();
    return this.draining;
  }

  /** Counts and outcomes to the supervisor: at once with `force`, else when paced (report-pace.ts). */
  private report(force: boolean, ack?: number, tally?: number): void {
    if (!process.connected) return;
    const now = Date.now();
    const ejected: string[] = [];
    for (const e of this.runtime.backends.values()) if (isEjected(e.outlier, now)) ejected.push(`${e.service}/${e.record.id}`);
    const facts: ReportFacts = {
      inFlight: this.runtime.drainingInFlight(),
      waiting: this.relay.waiting(),
      ejected,
      total: this.proxy.inFlight,
      open: this.proxy.connectionCount,
      accepted: this.accepted,
    };
    if (!this.pace.due(facts, this.relay.pending, this.events.length > 0) && !force) return;
    this.pace.sent(facts);
    const { rec, strings, stringsFrom } = this.relay.take();
    this.send({
      t: 'report',
      revision: this.runtime.revision,
      ...(ack !== undefined ? { ack } : {}),
      ...(tally !== undefined ? { tally } : {}),
      ...facts,
      strings,
      stringsFrom,
      rec,
      events: this.events.splice(0),
    });
  }
}
