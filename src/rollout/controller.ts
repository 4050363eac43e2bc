import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ConflictError, InvalidRequestError, NotFoundError, TurnoutError } from '../errors.js';
import { canarySplit, decide, flipSplit, isRolloutActive, validateSteps } from '../model/index.js';
import type { GateReading, RolloutGates, RolloutRecord, ServiceRecord } from '../model/index.js';
import type { ControlPlane } from '../runtime/index.js';
import type { StateStore } from '../store/index.js';
import type { Telemetry } from '../telemetry/index.js';

export interface StartRollout {
  readonly pool: string;
  readonly steps: readonly number[];
  readonly stepDurationMs: number;
  readonly gates?: Partial<RolloutGates>;
}

export type RolloutAction = 'pause' | 'resume' | 'promote' | 'abort';

export interface RolloutControllerOptions {
  readonly control: ControlPlane;
  readonly telemetry: Telemetry;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How often running rollouts are looked at (default 250 ms). */
  readonly tickMs?: number;
}

/** Live progress of the current step, for GET .../rollouts/current. */
export interface RolloutProgress {
  readonly reading: GateReading & { readonly errorRate: number };
  readonly stepEndsAt: string;
  readonly leader: boolean;
}

/**
 * Runs automated canaries: holds each step, checks the gates on the canary pool's own traffic,
 * raises, promotes or rolls back through the control plane (so a fleet sees every move). In a
 * fleet one instance holds a lease per service and reads the fleet's combined counts.
 */
export class RolloutController {
  private readonly opts: RolloutControllerOptions;
  private readonly now: () => number;
  private readonly baselines = new Map<string, { key: string; requests: number; errors: number }>();
  private readonly leaderOf = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(opts: RolloutControllerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
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
    const reading = this.reading(service, r);
    return {
      reading: { ...reading, errorRate: reading.requests === 0 ? 0 : Math.round((reading.errors / reading.requests) * 1e6) / 1e6 },
      stepEndsAt: new Date(r.stepStartedAtMs + r.stepDurationMs).toISOString(),
      // A fleet of one needs no lease to lead.
      leader: this.leaderOf.has(service) || this.opts.store.fleet.reportLagMs === 0,
    };
  }

  /** POST /v1/services/:svc/rollouts: one at a time per service; the first step applies at once. */
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
    const g = req.gates ?? {};
    const gates: RolloutGates = {
      maxErrorRate: g.maxErrorRate ?? 0.01,
      ...(g.maxP99Ms !== undefined ? { maxP99Ms: g.maxP99Ms } : {}),
      minRequests: g.minRequests ?? 1,
      maxWaitMs: g.maxWaitMs ?? req.stepDurationMs,
    };
    const rollout: RolloutRecord = {
      id: `ro-${randomBytes(4).toString('hex')}`,
      pool: req.pool,
      stablePool: stablePool as string,
      steps: [...req.steps],
      stepDurationMs: req.stepDurationMs,
      gates,
      state: 'running',
      stepIndex: 0,
      stepStartedAtMs: now,
      startedAt: new Date(now).toISOString(),
      actor,
      results: [],
    };
    const split = canarySplit(pools, svc.split, req.pool, req.steps[0] as number);
    const result = await this.opts.control.execute(
      { kind: 'rollout', service, action: 'rollout_start', rollout, split },
      { actor, dryRun: o.dryRun, force: o.force, ifMatch: o.ifMatch },
    );
    return result.state.services[service]?.rollout ?? rollout;
  }

  /** pause | resume | promote | abort on the current rollout. */
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
      case 'resume':
        if (r.state === 'running') throw new ConflictError('the rollout is already running');
        // The step's window starts again: what happened while paused is not judged.
        next = { ...r, state: 'running', stepStartedAtMs: now };
        break;
      case 'promote':
        next = { ...r, state: 'promoted', ...end };
        split = flipSplit(pools, r.pool);
        break;
      case 'abort':
        next = { ...r, state: 'aborted', ...end };
        split = flipSplit(pools, r.stablePool);
        break;
    }
    const result = await this.opts.control.execute(
      { kind: 'rollout', service, action: `rollout_${action}`, rollout: next, ...(split ? { split } : {}) },
      { actor, dryRun: o.dryRun, force: action === 'abort', ifMatch: o.ifMatch },
    );
    return result.state.services[service]?.rollout ?? next;
  }

  /** Counts of the canary pool since the current step began (this instance, plus the fleet's reports). */
  private reading(service: string, r: RolloutRecord): GateReading {
    const totals = this.totals(service, r.pool);
    const key = `${r.id}:${r.stepIndex}:${r.stepStartedAtMs}`;
    let base = this.baselines.get(service);
    if (base === undefined || base.key !== key) {
      base = { key, requests: totals.requests, errors: totals.errors };
      this.baselines.set(service, base);
    }
    const seconds = Math.max(1, Math.min(60, Math.ceil((this.now() - r.stepStartedAtMs) / 1000)));
    const local = this.opts.telemetry.poolWindow(service, r.pool, this.now(), seconds);
    return {
      requests: totals.requests - base.requests,
      errors: totals.errors - base.errors,
      p99Ms: Math.max(local.p99Ms, totals.p99Ms),
    };
  }

  private totals(service: string, pool: string): { requests: number; errors: number; p99Ms: number } {
    const local = this.opts.telemetry.poolTotals(service, pool);
    const fleet = this.opts.store.fleet.othersPoolTotals(`${service}/${pool}`);
    return { requests: local.requests + fleet.requests, errors: local.errors + fleet.errors, p99Ms: fleet.p99Ms };
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const [name, svc] of Object.entries(this.opts.control.current.services)) {
        const r = svc.rollout;
        if (r === undefined || r.state !== 'running') {
          this.baselines.delete(name);
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
        await this.step(name, r);
      }
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'rollout tick failed; retrying');
    } finally {
      this.ticking = false;
    }
  }

  private async step(service: string, r: RolloutRecord): Promise<void> {
    const reading = this.reading(service, r);
    const d = decide(r, reading, this.now());
    if (d.kind === 'wait') return;
    const svc = this.service(service);
    const pools = Object.keys(svc.pools);
    const actor = 'turnout:rollout';
    const ifMatch = this.opts.control.current.revision;
    const log = this.opts.logger;
    try {
      if (d.kind === 'advance') {
        const next: RolloutRecord = { ...r, stepIndex: r.stepIndex + 1, stepStartedAtMs: this.now(), results: [...r.results, d.result] };
        try {
          await this.opts.control.execute(
            { kind: 'rollout', service, action: 'rollout_step', rollout: next, split: canarySplit(pools, svc.split, r.pool, d.percent) },
            { actor, ifMatch },
          );
          log.info({ service, rollout: r.id, step: next.stepIndex + 1, percent: d.percent, reading: d.result }, 'rollout raised the canary');
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          await this.rollBack(service, r, `step ${next.stepIndex + 1}: cannot raise ${r.pool} to ${d.percent}%: ${err.message}`, d.result, pools, ifMatch);
        }
        return;
      }
      if (d.kind === 'promote') {
        const next: RolloutRecord = { ...r, state: 'promoted', endedAt: new Date(this.now()).toISOString(), results: [...r.results, d.result] };
        await this.opts.control.execute({ kind: 'rollout', service, action: 'rollout_promoted', rollout: next }, { actor, ifMatch });
        log.info({ service, rollout: r.id }, 'rollout promoted');
        return;
      }
      await this.rollBack(service, r, d.reason, d.result, pools, ifMatch);
    } catch (err) {
      // A concurrent change (412) or a store outage: the next tick looks again.
      if (!(err instanceof TurnoutError)) throw err;
      log.debug({ service, err: err.message }, 'rollout step deferred');
    }
  }

  private async rollBack(
    service: string,
    r: RolloutRecord,
    reason: string,
    result: RolloutRecord['results'][number],
    pools: readonly string[],
    ifMatch: number,
  ): Promise<void> {
    const next: RolloutRecord = { ...r, state: 'rolled_back', reason, endedAt: new Date(this.now()).toISOString(), results: [...r.results, result] };
    await this.opts.control.execute(
      { kind: 'rollout', service, action: 'rollout_rolled_back', rollout: next, split: flipSplit(pools, r.stablePool) },
      { actor: 'turnout:rollout', ifMatch, force: true },
    );
    this.opts.logger.warn({ service, rollout: r.id, reason }, 'rollout rolled back');
  }
}
