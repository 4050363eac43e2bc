import type { Logger } from 'pino';
import { ConflictError, InvalidRequestError, NotFoundError, TurnoutError } from '../errors.js';
import { admit, canarySplit, conclude, flipSplit, hasWebhook, isRolloutActive, resumeFromPause, validateSteps, webhookOk } from '../model/index.js';
import type { GateReading, MetricReading, Outcome, RolloutRecord, ServiceRecord } from '../model/index.js';
import type { ControlPlane } from '../runtime/index.js';
import type { StateStore } from '../store/index.js';
import type { Telemetry } from '../telemetry/index.js';
import { RolloutHooks } from './hooks.js';
import type { RolloutEventSink } from './hooks.js';
import { httpWebhook, noPrometheus } from './ports.js';
import type { MetricPort, MirrorPort, WebhookPort } from './ports.js';
import { Recorder } from './recorder.js';
import { newRecord } from './start.js';
import type { StartRollout } from './start.js';
import { CheckWindows } from './windows.js';

export type { StartRollout } from './start.js';

export type RolloutAction = 'pause' | 'resume' | 'promote' | 'abort';

export interface RolloutControllerOptions {
  readonly control: ControlPlane;
  readonly telemetry: Telemetry;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How often running rollouts are looked at (default 250 ms). */
  readonly tickMs?: number;
  /** The ports for outside calls (defaults: HTTP webhooks; no Prometheus). */
  readonly webhooks?: WebhookPort;
  readonly metrics?: MetricPort;
  readonly events?: RolloutEventSink;
  /** Mirroring, for mirror-first rollouts (the app's: localMirror). */
  readonly mirror: MirrorPort;
}

/** Live progress of the current step, for GET .../rollouts/current. */
export interface RolloutProgress {
  readonly reading: GateReading & { readonly errorRate: number };
  readonly stable: GateReading;
  readonly stepEndsAt: string;
  readonly leader: boolean;
}

/**
 * Runs automated canaries and blue-green releases: holds each step, checks the gates (canary, the
 * stable pool as baseline, PromQL, webhooks) each interval, raises, pauses, promotes or rolls back
 * through the control plane (so a fleet sees every move). The decisions are model/rollout-plan's.
 * In a fleet one instance holds a lease per service and reads the fleet's combined counts.
 */
export class RolloutController {
  private readonly opts: RolloutControllerOptions;
  private readonly now: () => number;
  private readonly windows: CheckWindows;
  private readonly hooks: RolloutHooks;
  private readonly recorder: Recorder;
  private readonly metrics: MetricPort;
  private readonly leaderOf = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(opts: RolloutControllerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.windows = new CheckWindows(opts.telemetry, opts.store, this.now, opts.mirror);
    this.hooks = new RolloutHooks(opts.webhooks ?? httpWebhook, opts.events, opts.logger);
    this.recorder = new Recorder(opts.control, this.hooks, opts.logger, this.now, opts.mirror);
    this.metrics = opts.metrics ?? noPrometheus;
    opts.telemetry.readRolloutStatesFrom(function* states() {
      for (const [name, svc] of Object.entries(opts.control.current.services)) if (svc.rollout !== undefined) yield [name, svc.rollout.state] as const;
    });
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.opts.tickMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private service(name: string): ServiceRecord {
    const svc = Object.hasOwn(this.opts.control.current.services, name) ? this.opts.control.current.services[name] : undefined;
    if (svc === undefined) throw new NotFoundError(`service "${name}" does not exist`);
    return svc;
  }

  current(service: string): RolloutRecord {
    const r = this.service(service).rollout;
    if (r === undefined) throw new NotFoundError(`service "${service}" has no rollout`);
    return r;
  }

  progress(service: string): RolloutProgress | undefined {
    const r = this.service(service).rollout;
    if (r === undefined || !isRolloutActive(r)) return undefined;
    const { canary, stable } = this.windows.read(service, r);
    return {
      reading: { ...canary, errorRate: canary.requests === 0 ? 0 : Math.round((canary.errors / canary.requests) * 1e6) / 1e6 },
      stable,
      stepEndsAt: new Date(r.stepStartedAtMs + r.stepDurationMs).toISOString(),
      // A fleet of one needs no lease to lead.
      leader: this.leaderOf.has(service) || this.opts.store.fleet.reportLagMs === 0,
    };
  }

  /**
   * POST /v1/services/:svc/rollouts: one at a time per service. The pre-rollout webhooks are asked
   * first (a non-2xx ends it `aborted` before any traffic moves); then the first step applies at once.
   */
  async begin(service: string, req: StartRollout, actor: string, o: { dryRun: boolean; force: boolean; ifMatch: number | undefined }): Promise<RolloutRecord> {
    const svc = this.service(service);
    const existing = svc.rollout;
    if (existing !== undefined && isRolloutActive(existing)) {
      throw new ConflictError(`service "${service}" already has a rollout ${existing.state} (${existing.id}); abort or promote it first`);
    }
    const pools = Object.keys(svc.pools);
    if (!pools.includes(req.pool)) throw new NotFoundError(`pool "${req.pool}" does not exist in service "${service}"`);
    if (pools.length < 2) throw new InvalidRequestError(`service "${service}" has one pool; a rollout needs two`);
    const bad = validateSteps(req.steps);
    if (bad !== undefined) throw new InvalidRequestError(bad);
    if (req.stepDurationMs < 1000) throw new InvalidRequestError('stepDuration must be at least 1s');
    let stablePool: string | undefined;
    for (const p of pools) if (p !== req.pool && (stablePool === undefined || (svc.split[p] ?? 0) > (svc.split[stablePool] ?? 0))) stablePool = p;
    const now = this.now();
    let rollout = newRecord(req, stablePool as string, actor, now);
    let split: Record<string, number> | undefined = canarySplit(pools, svc.split, req.pool, req.steps[0] as number);
    if (!o.dryRun && hasWebhook(rollout, 'pre-rollout')) {
      const answers = await this.hooks.ask(service, rollout, 'pre-rollout', null);
      const at = new Date(this.now()).toISOString();
      rollout = { ...rollout, hookAnswers: answers.map((a) => ({ ...a, at })) };
      const failed = answers.find((a) => !webhookOk(a));
      if (failed !== undefined) {
        const said = failed.status !== undefined ? `answered ${failed.status}` : `failed: ${failed.error ?? 'no answer'}`;
        rollout = { ...rollout, state: 'aborted', endedAt: at, reason: `pre-rollout webhook "${failed.name}" ${said}` };
        split = undefined;
      } else rollout = { ...rollout, stepStartedAtMs: this.now() };
    }
    const mirror = rollout.state === 'running' && req.mirror !== undefined && !o.dryRun ? this.opts.mirror : undefined;
    if (req.mirror !== undefined) split = undefined; // Mirror first: no real traffic moves yet.
    await mirror?.set(service, { pool: req.pool, percent: req.mirror?.percent ?? 0 });
    let result;
    try {
      result = await this.opts.control.execute(
        { kind: 'rollout', service, action: 'rollout_start', rollout, ...(split !== undefined ? { split } : {}) },
        { actor, dryRun: o.dryRun, force: o.force, ifMatch: o.ifMatch },
      );
    } catch (err) {
      await mirror?.set(service, null);
      throw err;
    }
    if (!o.dryRun) this.hooks.tell(service, rollout, 'event', null);
    return result.state.services[service]?.rollout ?? rollout;
  }

  /** pause | resume | promote | abort on the current rollout. Resuming a pause step goes on to the next step. */
  async act(service: string, action: RolloutAction, actor: string, o: { dryRun: boolean; ifMatch: number | undefined }): Promise<RolloutRecord> {
    const svc = this.service(service);
    const r = svc.rollout;
    if (r === undefined) throw new NotFoundError(`service "${service}" has no rollout`);
    if (!isRolloutActive(r)) throw new ConflictError(`the rollout of "${service}" already ended ${r.state}`);
    const now = this.now();
    const pools = Object.keys(svc.pools);
    const end = { endedAt: new Date(now).toISOString(), reason: `${action} by ${actor}` };
    let next: RolloutRecord;
    let split: Record<string, number> | undefined;
    switch (action) {
      case 'pause':
        if (r.state === 'paused') throw new ConflictError('the rollout is already paused');
        next = { ...r, state: 'paused' };
        break;
      case 'resume': {
        if (r.state === 'running') throw new ConflictError('the rollout is already running');
        if (r.hold !== undefined) {
          // A pause step: on to what follows it.
          const out: Outcome = resumeFromPause(r, now);
          next = out.record;
          if (out.kind === 'advance') split = canarySplit(pools, svc.split, r.pool, out.percent);
          break;
        }
        // The step's window starts again: what happened while paused is not judged.
        const { lastCheckAtMs: _last, ...rest } = r;
        next = { ...rest, state: 'running', stepStartedAtMs: now };
        break;
      }
      case 'promote': {
        const { hold: _hold, ...rest } = r;
        next = { ...rest, state: 'promoted', ...end };
        split = flipSplit(pools, r.pool);
        break;
      }
      case 'abort': {
        const { hold: _hold, ...rest } = r;
        next = { ...rest, state: 'aborted', ...end };
        split = flipSplit(pools, r.stablePool);
        break;
      }
    }
    const result = await this.opts.control.execute(
      { kind: 'rollout', service, action: `rollout_${action}`, rollout: next, ...(split ? { split } : {}) },
      { actor, dryRun: o.dryRun, force: action === 'abort', ifMatch: o.ifMatch },
    );
    if (!o.dryRun) {
      if (r.mirroring === true && (next.state === 'promoted' || next.state === 'aborted')) await this.opts.mirror.set(service, null);
      this.hooks.tell(service, next, 'event', null);
      if (next.state === 'promoted') this.hooks.tell(service, next, 'post-rollout', null, (a) => this.recorder.keepAnswers(service, next.id, a));
    }
    return result.state.services[service]?.rollout ?? next;
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const [name, svc] of Object.entries(this.opts.control.current.services)) {
        const r = svc.rollout;
        if (r === undefined || !isRolloutActive(r)) {
          this.windows.forget(name);
          continue;
        }
        const leader = await this.opts.store.fleet.acquireLease(`rollout:${name}`, 3000);
        if (!leader) {
          this.leaderOf.delete(name);
          continue;
        }
        if (!this.leaderOf.has(name)) {
          this.leaderOf.add(name);
          if (this.opts.store.fleet.reportLagMs > 0) this.opts.logger.info({ service: name, rollout: r.id }, 'holding the rollout lease');
        }
        // A check may wait on webhooks and queries: the lease is renewed meanwhile, so no other instance judges it twice.
        const renew = setInterval(() => void this.opts.store.fleet.acquireLease(`rollout:${name}`, 3000).catch(() => false), 1000);
        try {
          await this.step(name, r);
        } finally {
          clearInterval(renew);
        }
      }
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'rollout tick failed; retrying');
    } finally {
      this.ticking = false;
    }
  }

  private async step(service: string, r: RolloutRecord): Promise<void> {
    const { canary, stable } = this.windows.read(service, r);
    const a = admit(r, canary, this.now());
    if (a.kind === 'wait') return;
    try {
      if (a.kind === 'resume') return await this.recorder.write(service, r, resumeFromPause(r, this.now()));
      if (a.kind === 'rollback') return await this.recorder.write(service, r, { kind: 'rollback', reason: a.reason, record: a.record });
      const pools = { canary, ...(stable.requests > 0 ? { stable } : {}) };
      const metrics: MetricReading[] = await Promise.all(
        (r.gates.metrics ?? []).map(async (m) => ({ name: m.name, ...(await this.metrics(m)), ...(m.min !== undefined ? { min: m.min } : {}), ...(m.max !== undefined ? { max: m.max } : {}) })),
      );
      const webhooks = hasWebhook(r, 'rollout') ? await this.hooks.ask(service, r, 'rollout', { ...pools, metrics }) : undefined;
      const confirmations = a.confirm ? await this.hooks.ask(service, r, 'confirm-promotion', { ...pools, metrics }) : undefined;
      // Someone steered the rollout while the calls were out: this check is moot.
      if (this.opts.control.current.services[service]?.rollout !== r) return;
      const readings = { ...pools, ...(metrics.length > 0 ? { metrics } : {}), ...(webhooks !== undefined ? { webhooks } : {}) };
      const out = conclude(r, readings, confirmations, this.now());
      const last = out.record.results[out.record.results.length - 1];
      this.opts.telemetry.onRolloutCheck(service, last?.passed === true);
      await this.recorder.write(service, r, out);
    } catch (err) {
      // A concurrent change (412) or a store outage: the next tick looks again.
      if (!(err instanceof TurnoutError)) throw err;
      this.opts.logger.debug({ service, err: err.message }, 'rollout step deferred');
    }
  }
}
