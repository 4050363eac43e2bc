import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config, ServiceConfig } from '../config/index.js';
import { INITIAL_CHECK_STATE } from '../health/index.js';
import { healthAllows } from '../model/index.js';
import type { BackendRecord, LocalFacts, StateSnapshot } from '../model/index.js';
import type { ProxyObserver, RoutingTable } from '../proxy/index.js';
import type { TelemetrySink, TelemetrySource } from '../telemetry/index.js';
import { BackendSet, upstreamFor, upstreamOptionsDiffer } from './backends.js';
import type { BackendEntry } from './backends.js';
import { Checks } from './checks.js';
import type { HealthFacts, RemoteFacts, RemoveBackend, RuntimeContext, RuntimeOptions, RuntimeSignal } from './context.js';
import { GivenHealth } from './given-health.js';
import { Drains } from './drain.js';
import { Entries } from './entries.js';
import { EventLog } from './events.js';
import type { ServiceEvent } from './events.js';
import { OutcomeRelay } from './outcomes.js';
import { Outliers } from './outliers.js';
import { TableCompiler } from './tables.js';
import { Views } from './views.js';
import { waitForSignal } from './wait.js';
import type { BackendView } from './views.js';

export type { BackendView } from './views.js';

export type { RuntimeOptions } from './context.js';

/**
 * Wires stored state, the served config and local facts (health, ejection, drain, slow start) into
 * the RoutingTable the proxy reads. A facade over small parts: backends, drains, checks, outliers,
 * the outcome relay, the table compiler and views. Every change rebuilds the table and swaps one
 * reference.
 */
export class Runtime extends EventEmitter implements RuntimeContext, TelemetrySource {
  readonly events = new EventLog(200);
  readonly backends = new BackendSet();
  readonly log: Logger;
  readonly now: () => number;
  readonly telemetry: TelemetrySink | undefined;
  /** The proxy's observer: outcomes to telemetry and outlier detection. */
  readonly observer: ProxyObserver;
  private config: Config;
  private state: StateSnapshot | undefined;
  private readonly drains: Drains;
  private readonly checks: Checks | GivenHealth;
  private readonly remote: RemoteFacts | undefined;
  private readonly onEvent: RuntimeOptions['onEvent'];
  private readonly startOf: () => number;
  private readonly compiler: TableCompiler;
  private readonly views: Views;
  private readonly entries: Entries;
  private closed = false;

  constructor(opts: RuntimeOptions) {
    super();
    this.setMaxListeners(0);
    this.config = opts.config;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.telemetry = opts.telemetry;
    this.drains = new Drains(this);
    this.drains.removeBackend = opts.removeBackend;
    this.checks = opts.givenHealth === true ? new GivenHealth(this) : new Checks(this, opts.random);
    this.entries = new Entries(this, this.drains, this.checks);
    this.remote = opts.remote;
    this.onEvent = opts.onEvent;
    this.startOf = opts.balancerStart ?? (() => 0);
    this.compiler = new TableCompiler(this);
    this.views = new Views(this);
    this.observer = new OutcomeRelay(this, new Outliers(this));
    this.telemetry?.attach(this);
  }

  /** The table the proxy reads (TableSource). */
  get current(): RoutingTable {
    return this.compiler.current;
  }

  get revision(): number {
    return this.state?.revision ?? 0;
  }

  get removeBackend(): RemoveBackend | undefined {
    return this.drains.removeBackend;
  }

  set removeBackend(fn: RemoveBackend | undefined) {
    this.drains.removeBackend = fn;
  }

  settings(name: string): ServiceConfig | undefined {
    return Object.hasOwn(this.config.services, name) ? this.config.services[name] : undefined;
  }

  /**
   * Applies a stored state: creates upstreams for new backends, closes removed ones, starts drains,
   * syncs health checks, and swaps in a new table before returning.
   */
  applyState(state: StateSnapshot): void {
    if (this.closed) return;
    if (this.state !== undefined && state.revision < this.state.revision) return; // an older state arrived late
    const prev = this.state;
    this.state = state;
    // Commands replace only the service they change: the others keep their record object, and
    // their backends and tables are left as they are.
    const changed = new Set<string>();
    for (const [name, svc] of Object.entries(state.services)) if (prev?.services[name] !== svc) changed.add(name);
    if (prev !== undefined) for (const name of Object.keys(prev.services)) if (!(name in state.services)) changed.add(name);
    if (changed.size === 0) return;
    this.entries.sync(state, changed);
    this.checks.sync();
    this.rebuild(changed);
    this.emit('change');
  }

  /**
   * Serves `config` from now on (a reload), with `state` already lined up with it in the store.
   * Backends of services it adds, or that gain a health check, are probed first (as at start-up);
   * then, in one synchronous step, settings change, upstreams whose options changed are replaced
   * (the old ones finish what they serve), services it removes leave the table and their backends
   * drain, and the new table is swapped in.
   */
  async reconfigure(config: Config, state: StateSnapshot): Promise<void> {
    if (this.closed) return;
    const prev = this.config;
    const added = Object.keys(config.services).filter((n) => !Object.hasOwn(prev.services, n));
    const gainCheck = Object.keys(config.services).filter((n) => prev.services[n] !== undefined && prev.services[n]?.healthCheck === undefined && config.services[n]?.healthCheck !== undefined);
    const toWarm: BackendEntry[] = [];
    for (const name of added) {
      const settings = config.services[name] as ServiceConfig;
      for (const [pool, p] of Object.entries(state.services[name]?.pools ?? {})) {
        for (const rec of p.backends) toWarm.push(this.backends.get(name, rec.id) ?? this.entries.create(name, pool, rec, settings));
      }
    }
    // Probed with the new settings while the old ones (no check) still decide their eligibility.
    const gaining = [...this.backends.values()].filter((e) => gainCheck.includes(e.service));
    await this.checks.warm([...toWarm, ...gaining], 'reload', (e) => config.services[e.service] ?? e.settings);
    if (this.closed) return;

    this.config = config;
    // Services whose settings object is the same (keepUnchanged) keep their compiled table.
    const dirty = new Set([...Object.keys(prev.services), ...Object.keys(config.services)].filter((n) => prev.services[n] !== config.services[n]));
    for (const e of [...this.backends.values()]) {
      const next = this.settings(e.service);
      if (next === undefined) {
        // The service left the config: out of the table with this rebuild, its requests finish.
        this.entries.retire(e);
        continue;
      }
      const before = prev.services[e.service] ?? next;
      if (before.healthCheck !== undefined && next.healthCheck === undefined) e.check = INITIAL_CHECK_STATE;
      if (upstreamOptionsDiffer(before, next)) {
        const old = this.backends.swapUpstream(e, upstreamFor(e.record, next));
        e.upstream.onIdle = () => this.drains.onIdle(e);
        old.onIdle = undefined;
        this.drains.retire(old, this.now() + next.drainTimeoutMs);
      }
      e.settings = next;
    }
    // A newer state may have arrived from the store while the probes ran.
    if (this.state === undefined || state.revision >= this.state.revision) this.state = state;
    if (this.state !== undefined) this.entries.sync(this.state, dirty);
    this.checks.sync();
    this.rebuild(dirty);
    this.emit('change');
  }

  /**
   * At start-up, probe every checked backend once before the listener opens (Checks.warm), then
   * build the first table with every eligible backend past slow start.
   */
  async warmUp(): Promise<void> {
    await this.checks.warm(this.backends.values(), 'start-up');
    this.rebuild();
    this.compiler.starting = false;
  }

  /** Local facts of a backend for the eligible-backend rule on split changes (model). */
  local(service: string, id: string): LocalFacts {
    return this.views.local(service, id);
  }

  /** Health as far as taking traffic goes: healthy, or unknown when the service has no check. */
  healthOk(service: string, id: string): boolean {
    const f = this.local(service, id);
    return healthAllows(f.health, f.checked);
  }

  rebuild(services?: Iterable<string>): void {
    if (this.state === undefined) return;
    this.compiler.rebuild(this.state, services === undefined ? undefined : new Set(services));
    // Requests waiting for a backend (hold) try again on every new table.
    this.emit('table');
  }

  balancerStart(): number {
    return this.startOf();
  }

  inFlightOf(e: BackendEntry): number {
    return this.remote === undefined ? e.upstream.inFlight : e.upstream.inFlight + this.remote.inFlight(e.service, e.record.id);
  }

  ejectedElsewhere(e: BackendEntry): boolean {
    return this.remote?.ejected(e.service, e.record.id) ?? false;
  }

  /** A worker: the supervisor's health results (every checked backend). */
  setHealth(facts: HealthFacts): void {
    if (this.checks instanceof GivenHealth) this.checks.set(facts);
  }

  /** A supervisor: the health its checks see, for the workers. */
  healthFacts(): HealthFacts {
    return this.checks instanceof Checks ? this.checks.facts() : {};
  }

  /**
   * A supervisor: the workers reported new counts. Draining backends with nothing left in flight
   * anywhere go on to removal, and waits (flip with wait=drained) look again.
   */
  remoteChanged(): void {
    for (const e of this.backends.values()) if (e.record.state === 'draining' && this.inFlightOf(e) === 0) this.drains.onIdle(e);
    this.emit('counts');
  }

  signal(kind: RuntimeSignal, service: string, id: string): void {
    this.emit(kind, service, id);
  }

  event(service: string, ev: Omit<ServiceEvent, 'time'>): void {
    const full = this.events.add(service, { time: new Date(this.now()).toISOString(), ...ev });
    this.onEvent?.(service, ev);
    this.log.info({ service, event: full.type, pool: full.pool, backend: full.backend, details: full.details }, full.message);
  }

  backendView(service: string, id: string): BackendView | undefined {
    return this.views.backend(service, id);
  }

  viewOfRecord(service: string, record: BackendRecord): BackendView {
    return this.views.ofRecord(service, record);
  }

  forEachService(cb: Parameters<TelemetrySource['forEachService']>[0]): void {
    this.views.forEachService(this.state, cb);
  }

  drainingInFlight(): Record<string, number> {
    return this.views.drainingInFlight();
  }

  /** Whether new requests may go to this backend (`service/id`, as reports name it; names have no `/`): active, in a pool with a share. */
  inRotation(key: string): boolean {
    const slash = key.indexOf('/');
    const e = this.backends.get(key.slice(0, slash), key.slice(slash + 1));
    if (e === undefined || e.record.state !== 'active') return false;
    return (this.state?.services[e.service]?.split[e.pool] ?? 0) > 0;
  }

  poolsInFlight(service: string, pools: readonly string[]): number {
    return this.views.poolsInFlight(service, pools);
  }

  hasBackend(service: string, id: string): boolean {
    return this.backends.get(service, id) !== undefined;
  }

  /** Resolves true when `predicate` holds (checked on every change and idle), false at the deadline. */
  waitFor(predicate: () => boolean, deadlineMs: number): Promise<boolean> {
    return waitForSignal(this, predicate, deadlineMs, this.now);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.compiler.close();
    await this.checks.close();
    for (const e of [...this.backends.values()]) {
      this.backends.delete(e);
      await e.upstream.destroy();
    }
    this.backends.clear();
    await this.drains.close();
  }
}
