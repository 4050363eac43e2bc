import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { inSlowStart, slowStartWeight } from '../balancer/index.js';
import type { Config, ServiceConfig } from '../config/index.js';
import { PROXY_ERROR_STATUS } from '../errors.js';
import type { UpstreamFailure, ProxyErrorCode } from '../errors.js';
import { HealthChecker, INITIAL_CHECK_STATE, INITIAL_OUTLIER_STATE, isEjected, maxEjected, observe, onReturn, recordOutcome } from '../health/index.js';
import type { CheckState, CheckTarget, OutlierState, ProbeResult } from '../health/index.js';
import type { BackendRecord, Health, ServiceRecord, StateSnapshot } from '../model/index.js';
import { Upstream } from '../proxy/index.js';
import type { HoldStats, ProxyObserver } from '../proxy/index.js';
import type { BackendLive, PoolLive, Telemetry, TelemetrySource } from '../telemetry/index.js';
import { EventLog } from './events.js';
import type { ServiceEvent } from './events.js';
import { buildServiceTable, EMPTY_TABLE, RoutingTable } from '../proxy/index.js';
import type { PoolTable, ServiceTable } from '../proxy/index.js';

/** One backend's local life in this process: its upstream and the facts only this instance knows. */
interface BackendEntry {
  readonly key: string;
  readonly service: string;
  pool: string;
  record: BackendRecord;
  upstream: Upstream;
  check: CheckState;
  outlier: OutlierState;
  ejectTimer: NodeJS.Timeout | undefined;
  /** Epoch ms it last became eligible (slow start); undefined while not eligible. */
  eligibleSince: number | undefined;
  drainTimer: NodeJS.Timeout | undefined;
  /** Drain already acted on (idle sockets closed, event written) for this drain start. */
  drainSeen: string | undefined;
  removing: boolean;
}

export interface BackendView {
  readonly id: string;
  readonly url: string;
  readonly weight: number;
  readonly effectiveWeight: number;
  readonly state: BackendRecord['state'];
  readonly health: Health;
  readonly ejected: boolean;
  readonly inFlight: number;
  readonly drain?: { readonly startedAt: string; readonly deadline: string; readonly inFlight: number; readonly started: number };
}

export interface RuntimeOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
  /**
   * Asks the control plane to remove a drained backend (a write through the store). Resolves
   * false when it must wait (other fleet instances still have requests on it).
   */
  readonly removeBackend?: (service: string, pool: string, id: string, atDeadline: boolean) => Promise<boolean>;
  /** Metrics and live windows; the runtime forwards what the proxy reports. */
  readonly telemetry?: Telemetry;
}

const keyOf = (service: string, id: string): string => `${service}\u0000${id}`;
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Wires stored state and local facts (health, ejection, drain, slow start) into the RoutingTable
 * the proxy reads. Every change rebuilds the table and swaps one reference.
 */
export class Runtime extends EventEmitter implements ProxyObserver, TelemetrySource {
  current: RoutingTable = EMPTY_TABLE;
  readonly events = new EventLog(200);
  private state: StateSnapshot | undefined;
  private readonly entries = new Map<string, BackendEntry>();
  /** The same entries by upstream object: the hot path looks up without building a key. */
  private readonly byUpstream = new Map<Upstream, BackendEntry>();
  /** Each service's compiled table and the record it was built from (rebuilds skip clean ones). */
  private readonly tables = new Map<string, { record: ServiceRecord; table: ServiceTable; ramping: boolean }>();
  private readonly config: Config;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly checker: HealthChecker;
  readonly telemetry: Telemetry | undefined;
  private slowStartTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly retryEventAt = new Map<string, number>();
  private readonly retryEventsSuppressed = new Map<string, number>();
  /** Until warm-up ends, backends that become eligible skip slow start: the whole table starts together. */
  private starting = true;
  removeBackend: ((service: string, pool: string, id: string, atDeadline: boolean) => Promise<boolean>) | undefined;

  constructor(opts: RuntimeOptions) {
    super();
    this.setMaxListeners(0);
    this.config = opts.config;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.removeBackend = opts.removeBackend;
    this.telemetry = opts.telemetry;
    this.telemetry?.attach(this);
    this.checker = new HealthChecker((key, result) => this.onProbe(key, result), opts.random);
  }

  get revision(): number {
    return this.state?.revision ?? 0;
  }

  serviceConfig(name: string): ServiceConfig | undefined {
    return this.config.services[name];
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
    for (const [svcName, svc] of Object.entries(state.services)) {
      if (prev?.services[svcName] !== svc) changed.add(svcName);
    }
    if (prev !== undefined) for (const name of Object.keys(prev.services)) if (!(name in state.services)) changed.add(name);
    if (changed.size === 0) return;
    const seen = new Set<string>();
    for (const svcName of changed) {
      const svc = state.services[svcName];
      const settings = this.config.services[svcName];
      if (svc === undefined || settings === undefined) continue;
      for (const [poolName, pool] of Object.entries(svc.pools)) {
        for (const record of pool.backends) {
          const key = keyOf(svcName, record.id);
          seen.add(key);
          let entry = this.entries.get(key);
          if (entry !== undefined && entry.record.url !== record.url) {
            this.dropEntry(entry, 'url changed');
            entry = undefined;
          }
          if (entry === undefined) {
            entry = this.createEntry(svcName, poolName, record, settings);
          } else {
            entry.pool = poolName;
            entry.record = record;
          }
          this.trackDrain(entry, settings);
        }
      }
    }
    for (const entry of [...this.entries.values()]) if (changed.has(entry.service) && !seen.has(entry.key)) this.dropEntry(entry, 'removed');
    this.syncChecks();
    this.rebuild(changed);
    this.emit('change');
  }

  private createEntry(service: string, pool: string, record: BackendRecord, settings: ServiceConfig): BackendEntry {
    const upstream = new Upstream(record.id, record.url, {
      connectTimeoutMs: settings.connectTimeoutMs,
      rejectUnauthorized: settings.rejectUnauthorized,
      keepAliveTimeoutMs: settings.idleTimeoutMs,
    });
    const entry: BackendEntry = {
      key: keyOf(service, record.id),
      service,
      pool,
      record,
      upstream,
      check: INITIAL_CHECK_STATE,
      outlier: INITIAL_OUTLIER_STATE,
      ejectTimer: undefined,
      eligibleSince: undefined,
      drainTimer: undefined,
      drainSeen: undefined,
      removing: false,
    };
    upstream.onIdle = () => this.onUpstreamIdle(entry);
    this.entries.set(entry.key, entry);
    this.byUpstream.set(upstream, entry);
    return entry;
  }

  private dropEntry(entry: BackendEntry, why: string): void {
    this.entries.delete(entry.key);
    this.byUpstream.delete(entry.upstream);
    if (entry.ejectTimer !== undefined) clearTimeout(entry.ejectTimer);
    if (entry.drainTimer !== undefined) clearTimeout(entry.drainTimer);
    const inFlight = entry.upstream.inFlight;
    if (entry.record.state === 'draining') {
      this.event(entry.service, {
        type: 'drain_end',
        pool: entry.pool,
        backend: entry.record.id,
        message: inFlight === 0 ? 'drained: no request in flight; backend removed' : `drain deadline passed with ${inFlight} in flight; backend removed`,
        details: { inFlight, started: entry.upstream.started },
      });
    } else {
      this.log.debug({ service: entry.service, backend: entry.record.id, why }, 'backend dropped');
    }
    entry.upstream.onIdle = undefined;
    this.telemetry?.forget(entry.upstream);
    void entry.upstream.destroy();
    this.emit('removed', entry.service, entry.record.id);
  }

  private trackDrain(entry: BackendEntry, settings: ServiceConfig): void {
    const rec = entry.record;
    if (rec.state !== 'draining') {
      if (entry.drainSeen !== undefined) {
        entry.drainSeen = undefined;
        if (entry.drainTimer !== undefined) clearTimeout(entry.drainTimer);
        entry.drainTimer = undefined;
        this.event(entry.service, { type: 'drain_cancelled', pool: entry.pool, backend: rec.id, message: `backend is ${rec.state} again` });
      }
      return;
    }
    const deadlineMs = rec.drain?.deadlineMs ?? this.now() + settings.drainTimeoutMs;
    const mark = `${rec.drain?.startedAt ?? ''}|${deadlineMs}|${rec.drain?.remove ?? false}`;
    if (entry.drainSeen === mark) return;
    const first = entry.drainSeen === undefined;
    entry.drainSeen = mark;
    if (first) {
      entry.upstream.closeIdleConnections();
      this.event(entry.service, {
        type: 'drain_start',
        pool: entry.pool,
        backend: rec.id,
        message: `draining with ${entry.upstream.inFlight} in flight; deadline ${new Date(deadlineMs).toISOString()}`,
        details: { inFlight: entry.upstream.inFlight, deadline: new Date(deadlineMs).toISOString(), remove: rec.drain?.remove ?? false },
      });
    }
    if (entry.drainTimer !== undefined) clearTimeout(entry.drainTimer);
    // Node timers overflow past 2^31-1 ms (about 24.8 days) and would fire at once: cap and re-arm.
    entry.drainTimer = setTimeout(() => this.onDrainDeadline(entry), Math.min(MAX_TIMER_MS, Math.max(0, deadlineMs - this.now())));
    entry.drainTimer.unref();
    if (entry.upstream.inFlight === 0) setImmediate(() => this.onUpstreamIdle(entry));
  }

  private onUpstreamIdle(entry: BackendEntry): void {
    this.emit('idle', entry.service, entry.pool, entry.record.id);
    const rec = entry.record;
    if (rec.state === 'draining' && rec.drain?.remove === true && entry.upstream.inFlight === 0) this.requestRemoval(entry, false);
  }

  private onDrainDeadline(entry: BackendEntry): void {
    entry.drainTimer = undefined;
    if (this.entries.get(entry.key) !== entry || entry.record.state !== 'draining') return;
    const deadlineMs = entry.record.drain?.deadlineMs;
    if (deadlineMs !== undefined && deadlineMs - this.now() > 50) {
      entry.drainTimer = setTimeout(() => this.onDrainDeadline(entry), Math.min(MAX_TIMER_MS, deadlineMs - this.now()));
      entry.drainTimer.unref();
      return;
    }
    const closed = entry.upstream.closeUpgrades();
    if (closed > 0 || entry.upstream.inFlight > 0) {
      this.event(entry.service, {
        type: 'drain_deadline',
        pool: entry.pool,
        backend: entry.record.id,
        message: `drain deadline: closed ${closed} upgraded connection(s), ${Math.max(0, entry.upstream.inFlight - closed)} request(s) still in flight`,
      });
    }
    if (entry.record.drain?.remove === true) this.requestRemoval(entry, true);
  }

  private requestRemoval(entry: BackendEntry, atDeadline: boolean): void {
    if (entry.removing || this.removeBackend === undefined) return;
    entry.removing = true;
    this.removeBackend(entry.service, entry.pool, entry.record.id, atDeadline).then(
      (done) => {
        entry.removing = false;
        if (!done) {
          // Others in the fleet still serve requests on it: look again shortly (the deadline still applies).
          const t = setTimeout(() => {
            if (this.entries.get(entry.key) === entry && entry.record.state === 'draining' && entry.upstream.inFlight === 0) this.requestRemoval(entry, false);
          }, 250);
          t.unref();
        }
      },
      (err: unknown) => {
        entry.removing = false;
        this.log.warn({ service: entry.service, backend: entry.record.id, err: (err as Error).message }, 'removing a drained backend failed; retrying');
        const t = setTimeout(() => {
          if (this.entries.get(entry.key) === entry) this.requestRemoval(entry, atDeadline);
        }, 500);
        t.unref();
      },
    );
  }

  private syncChecks(): void {
    const targets: CheckTarget[] = [];
    for (const e of this.entries.values()) {
      const settings = this.config.services[e.service];
      if (settings?.healthCheck === undefined || e.record.state === 'draining') continue;
      targets.push({ key: e.key, url: e.record.url, settings: settings.healthCheck, rejectUnauthorized: settings.rejectUnauthorized });
    }
    this.checker.sync(targets);
  }

  /**
   * At start-up, probe every checked backend once before the listener opens, so a restart does not
   * black-hole a service while the first thresholds fill: a first pass counts as healthy (like
   * Envoy's cluster warming). Backends registered later must pass `healthyThreshold` checks.
   */
  async warmUp(): Promise<void> {
    const work: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      const settings = this.config.services[e.service];
      if (settings?.healthCheck === undefined) continue;
      const hc = settings.healthCheck;
      work.push(
        this.checker
          .probe({ key: e.key, url: e.record.url, settings: hc, rejectUnauthorized: settings.rejectUnauthorized })
          .then((r) => {
            e.check = r.passed ? { health: 'healthy', passes: hc.healthyThreshold, fails: 0 } : { health: 'unknown', passes: 0, fails: 1 };
            this.event(e.service, {
              type: 'health',
              pool: e.pool,
              backend: e.record.id,
              message: `start-up probe: GET ${hc.path} saw ${r.detail} → ${e.check.health}`,
              details: { check: hc.path, saw: r.detail },
            });
          }),
      );
    }
    await Promise.all(work);
    this.rebuild();
    this.starting = false;
  }

  private onProbe(key: string, result: ProbeResult): void {
    const e = this.entries.get(key);
    const hc = e === undefined ? undefined : this.config.services[e.service]?.healthCheck;
    if (e === undefined || hc === undefined) return;
    const before = e.check.health;
    this.telemetry?.onHealthCheck(e.service, e.pool, e.record.id, result.passed);
    const { state, changed } = observe(e.check, result.passed, hc);
    e.check = state;
    if (!changed) return;
    const threshold = state.health === 'healthy' ? `${hc.healthyThreshold} passes` : `${hc.unhealthyThreshold} failures`;
    this.event(e.service, {
      type: 'health',
      pool: e.pool,
      backend: e.record.id,
      message: `${before} → ${state.health}: GET ${hc.path} saw ${result.detail} (${threshold} in a row)`,
      details: { from: before, to: state.health, check: hc.path, saw: result.detail, expect: `${hc.expectStatusMin}-${hc.expectStatusMax}` },
    });
    this.rebuild([e.service]);
  }

  /** Health as far as taking traffic goes: healthy, or unknown when the service has no check. */
  healthOk(service: string, id: string): boolean {
    const e = this.entries.get(keyOf(service, id));
    const settings = this.config.services[service];
    if (settings?.healthCheck === undefined) return e === undefined || e.check.health !== 'unhealthy';
    return e?.check.health === 'healthy';
  }

  /**
   * Rebuilds the routing table from the applied state and local facts, and swaps it in. Only the
   * services named (all when none are) are compiled again; the others keep their table.
   */
  rebuild(services?: Iterable<string>): void {
    if (this.state === undefined) return;
    const dirty = services === undefined ? undefined : new Set(services);
    const now = this.now();
    const out = new Map<string, ServiceTable>();
    for (const [name, svc] of Object.entries(this.state.services)) {
      const settings = this.config.services[name];
      if (settings === undefined) continue;
      const cached = this.tables.get(name);
      if (cached !== undefined && cached.record === svc && dirty !== undefined && !dirty.has(name)) {
        out.set(name, cached.table);
        continue;
      }
      let ramping = false;
      const pools: { name: string; eligible: { upstream: Upstream; weight: number }[] }[] = [];
      for (const [poolName, pool] of Object.entries(svc.pools)) {
        const eligible: { upstream: Upstream; weight: number }[] = [];
        for (const rec of pool.backends) {
          const e = this.entries.get(keyOf(name, rec.id));
          if (e === undefined) continue;
          const ok = rec.state === 'active' && rec.weight > 0 && this.healthOk(name, rec.id) && !isEjected(e.outlier, now);
          if (!ok) {
            e.eligibleSince = undefined;
            continue;
          }
          e.eligibleSince ??= this.starting ? now - settings.slowStartMs : now;
          const weight = slowStartWeight(rec.weight, e.eligibleSince, now, settings.slowStartMs);
          if (inSlowStart(e.eligibleSince, now, settings.slowStartMs)) ramping = true;
          eligible.push({ upstream: e.upstream, weight });
        }
        pools.push({ name: poolName, eligible });
      }
      const table = buildServiceTable({ settings, split: svc.split, pools });
      this.tables.set(name, { record: svc, table, ramping });
      out.set(name, table);
    }
    for (const name of [...this.tables.keys()]) if (!out.has(name)) this.tables.delete(name);
    this.current = new RoutingTable(this.state.revision, out);
    // Requests waiting for a backend (hold) try again on every new table.
    this.emit('table');
    if ([...this.tables.values()].some((t) => t.ramping)) this.scheduleSlowStartTick();
  }

  private scheduleSlowStartTick(): void {
    if (this.slowStartTimer !== undefined || this.closed) return;
    let step = 1000;
    for (const s of Object.values(this.config.services)) if (s.slowStartMs > 0) step = Math.min(step, Math.max(50, s.slowStartMs / 20));
    this.slowStartTimer = setTimeout(() => {
      this.slowStartTimer = undefined;
      const ramping: string[] = [];
      for (const [name, t] of this.tables) if (t.ramping) ramping.push(name);
      this.rebuild(ramping);
    }, step);
    this.slowStartTimer.unref();
  }

  // ProxyObserver: outcomes feed passive outlier detection. Kept allocation-free on success.
  onResponse(svc: ServiceTable, pool: PoolTable, up: Upstream, status: number, durationMs: number): void {
    this.telemetry?.onResponse(svc.name, pool.name, up, up.id, status, durationMs);
    if (status === 499) return; // the client left: says nothing about the backend
    this.recordOutcome(svc, pool, up, status < 500, status >= 500 ? `status ${status}` : '');
  }

  onUpstreamFailure(svc: ServiceTable, pool: PoolTable, up: Upstream, reason: UpstreamFailure, retried: boolean): void {
    this.telemetry?.onUpstreamFailure(svc.name, pool.name, up.id, reason, retried);
    this.recordOutcome(svc, pool, up, false, reason);
  }

  onProxyError(svc: ServiceTable | undefined, pool: PoolTable | undefined, code: ProxyErrorCode, durationMs: number): void {
    this.telemetry?.onProxyError(svc?.name ?? '', pool?.name ?? '', PROXY_ERROR_STATUS[code], durationMs);
  }

  onHoldWaiting(service: string, waiting: number): void {
    this.telemetry?.onHoldWaiting(service, waiting);
  }

  onHoldDone(service: string, waitedMs: number, timedOut: boolean): void {
    this.telemetry?.onHoldDone(service, waitedMs, timedOut);
  }

  /** Holding starts and stops are events: an operator sees why requests were slow, and for how long. */
  onHoldState(service: string, holding: boolean, stats: HoldStats): void {
    if (holding) {
      this.event(service, { type: 'hold_start', message: 'requests wait: no backend can take them now' });
      return;
    }
    const forMs = Math.round(performance.now() - stats.since);
    this.event(service, {
      type: 'hold_end',
      message: `no request waits any more (held ${forMs}ms: ${stats.served} went to a backend, ${stats.timedOut} timed out, longest wait ${Math.round(stats.longestMs)}ms)`,
      details: { forMs, served: stats.served, timedOut: stats.timedOut, longestWaitMs: Math.round(stats.longestMs) },
    });
  }

  private recordOutcome(svc: ServiceTable, pool: PoolTable, up: Upstream, ok: boolean, reason: string): void {
    const settings = svc.settings.outlier;
    if (settings === undefined) return;
    const e = this.byUpstream.get(up);
    if (e === undefined) return;
    if (ok && e.outlier.consecutiveFailures === 0 && e.outlier.ejections === 0) return; // the common case
    const now = this.now();
    let mayEject = false;
    if (!ok) {
      let size = 0;
      let ejected = 0;
      for (const other of this.entries.values()) {
        if (other.service !== e.service || other.pool !== e.pool || other.record.state !== 'active') continue;
        size++;
        if (isEjected(other.outlier, now)) ejected++;
      }
      mayEject = ejected + 1 <= maxEjected(size, settings.maxEjectedPercent);
    }
    const r = recordOutcome(e.outlier, ok, now, settings, mayEject);
    if (r.state === e.outlier) return;
    e.outlier = r.state;
    if (!r.ejected) return;
    const forMs = r.state.ejectedUntil - now;
    this.telemetry?.onEjection(e.service, pool.name, e.record.id);
    this.event(e.service, {
      type: 'ejected',
      pool: pool.name,
      backend: e.record.id,
      message: `ejected for ${forMs}ms after ${settings.consecutiveFailures} consecutive failures (last: ${reason}); ejection #${r.state.ejections}`,
      details: { reason, forMs, ejections: r.state.ejections },
    });
    if (e.ejectTimer !== undefined) clearTimeout(e.ejectTimer);
    e.ejectTimer = setTimeout(() => {
      e.ejectTimer = undefined;
      if (this.entries.get(e.key) !== e) return;
      e.outlier = onReturn(e.outlier, settings);
      this.event(e.service, { type: 'ejection_end', pool: e.pool, backend: e.record.id, message: 'ejection time over: backend takes traffic again' });
      this.rebuild([e.service]);
    }, forMs);
    e.ejectTimer.unref();
    this.rebuild([e.service]);
  }

  /**
   * A request failed after its retry: an event for the operator, at most one a second per service
   * (an outage must not turn the event log and the logs into a request log).
   */
  onRetriesExhausted(svc: ServiceTable, pool: PoolTable, up: Upstream, reason: UpstreamFailure): void {
    const now = this.now();
    const last = this.retryEventAt.get(svc.name) ?? 0;
    if (now - last < 1000) {
      this.retryEventsSuppressed.set(svc.name, (this.retryEventsSuppressed.get(svc.name) ?? 0) + 1);
      return;
    }
    const suppressed = this.retryEventsSuppressed.get(svc.name) ?? 0;
    this.retryEventAt.set(svc.name, now);
    this.retryEventsSuppressed.set(svc.name, 0);
    this.event(svc.name, {
      type: 'retries_exhausted',
      pool: pool.name,
      backend: up.id,
      message: `request failed after its retry: ${reason} on ${up.id}${suppressed > 0 ? ` (and ${suppressed} more in the last second)` : ''}`,
      details: { reason, suppressed },
    });
  }

  private event(service: string, ev: Omit<ServiceEvent, 'time'>): void {
    const full = this.events.add(service, { time: new Date(this.now()).toISOString(), ...ev });
    this.log.info({ service, event: full.type, pool: full.pool, backend: full.backend, details: full.details }, full.message);
  }

  backendView(service: string, id: string): BackendView | undefined {
    const e = this.entries.get(keyOf(service, id));
    if (e === undefined) return undefined;
    return this.viewOf(e);
  }

  /** View of a stored backend record, with local facts when this instance knows it. */
  viewOfRecord(service: string, record: BackendRecord): BackendView {
    const e = this.entries.get(keyOf(service, record.id));
    if (e !== undefined && e.record === record) return this.viewOf(e);
    const settings = this.config.services[service];
    const base = {
      id: record.id,
      url: record.url,
      weight: record.weight,
      effectiveWeight: 0,
      state: record.state,
      health: (settings?.healthCheck === undefined ? 'unknown' : (e?.check.health ?? 'unknown')) as Health,
      ejected: false,
      inFlight: e?.upstream.inFlight ?? 0,
    };
    return base;
  }

  private viewOf(e: BackendEntry): BackendView {
    const now = this.now();
    const settings = this.config.services[e.service];
    const rec = e.record;
    const ejected = isEjected(e.outlier, now);
    const eligible = rec.state === 'active' && rec.weight > 0 && this.healthOk(e.service, rec.id) && !ejected;
    const effectiveWeight = !eligible
      ? 0
      : e.eligibleSince === undefined || settings === undefined
        ? rec.weight
        : Math.round(slowStartWeight(rec.weight, e.eligibleSince, now, settings.slowStartMs) * 100) / 100;
    const view: BackendView = {
      id: rec.id,
      url: rec.url,
      weight: rec.weight,
      effectiveWeight,
      state: rec.state,
      health: e.check.health,
      ejected,
      inFlight: e.upstream.inFlight,
      ...(rec.state === 'draining' && rec.drain !== undefined
        ? {
            drain: {
              startedAt: rec.drain.startedAt,
              deadline: new Date(rec.drain.deadlineMs).toISOString(),
              inFlight: e.upstream.inFlight,
              started: e.upstream.started,
            },
          }
        : {}),
    };
    return view;
  }

  /** TelemetrySource: every service with its split and live backend views (scrape and snapshot time). */
  forEachService(cb: (service: string, split: Readonly<Record<string, number>>, pools: readonly PoolLive[]) => void): void {
    if (this.state === undefined) return;
    for (const [name, svc] of Object.entries(this.state.services)) {
      if (this.config.services[name] === undefined) continue;
      const pools: PoolLive[] = [];
      for (const [poolName, pool] of Object.entries(svc.pools)) {
        const backends: BackendLive[] = [];
        for (const rec of pool.backends) {
          const e = this.entries.get(keyOf(name, rec.id));
          if (e === undefined) continue;
          const v = this.viewOf(e);
          backends.push({ ...v, healthOk: this.healthOk(name, rec.id), key: e.upstream });
        }
        pools.push({ name: poolName, backends });
      }
      cb(name, svc.split, pools);
    }
  }

  /**
   * In-flight on this instance's backends that have any, keyed `service/id` (reported to the fleet
   * so an instance deciding to remove a drained backend knows what the others still serve; counts
   * of backends not yet draining are included because a drain may start between two reports).
   */
  drainingInFlight(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries.values()) if (e.upstream.inFlight > 0 || e.record.state === 'draining') out[`${e.service}/${e.record.id}`] = e.upstream.inFlight;
    return out;
  }

  /** In-flight requests and upgrades on the given pools of a service. */
  poolsInFlight(service: string, pools: readonly string[]): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.service === service && pools.includes(e.pool)) n += e.upstream.inFlight;
    return n;
  }

  /** Resolves true when `predicate` holds (checked on every change and idle), false at the deadline. */
  waitFor(predicate: () => boolean, deadlineMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (predicate()) done(true);
      };
      const timer = setTimeout(() => done(false), Math.max(0, deadlineMs - this.now()));
      const poll = setInterval(check, 100);
      const done = (v: boolean): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.off('change', check);
        this.off('idle', check);
        this.off('removed', check);
        resolve(v);
      };
      this.on('change', check);
      this.on('idle', check);
      this.on('removed', check);
    });
  }

  hasBackend(service: string, id: string): boolean {
    return this.entries.has(keyOf(service, id));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.slowStartTimer !== undefined) clearTimeout(this.slowStartTimer);
    await this.checker.close();
    for (const e of this.entries.values()) {
      if (e.ejectTimer !== undefined) clearTimeout(e.ejectTimer);
      if (e.drainTimer !== undefined) clearTimeout(e.drainTimer);
      await e.upstream.destroy();
    }
    this.entries.clear();
    this.byUpstream.clear();
  }
}
