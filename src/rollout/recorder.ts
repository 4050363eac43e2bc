import type { Logger } from 'pino';
import { ConflictError } from '../errors.js';
import { canarySplit, flipSplit } from '../model/index.js';
import type { Outcome, RolloutRecord, WebhookAnswer } from '../model/index.js';
import type { ControlPlane } from '../runtime/index.js';
import type { RolloutHooks } from './hooks.js';
import type { MirrorPort } from './ports.js';

const ACTOR = 'turnout:rollout';

const ACTIONS: Record<Outcome['kind'], string> = {
  check: 'rollout_check',
  advance: 'rollout_step',
  pause: 'rollout_paused',
  promote: 'rollout_promoted',
  rollback: 'rollout_rolled_back',
};

/**
 * Writes a decided outcome through the control plane (one change: the record and the split it
 * moves to), then tells the webhooks that want to know: `event` at every transition,
 * `post-rollout` after a promotion, `rollback` after a rollback (their answers kept in the record).
 */
export class Recorder {
  constructor(
    private readonly control: ControlPlane,
    private readonly hooks: RolloutHooks,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly mirror: MirrorPort,
  ) {}

  async write(service: string, r: RolloutRecord, out: Outcome): Promise<void> {
    const svc = this.control.current.services[service];
    if (svc === undefined) return;
    const pools = Object.keys(svc.pools);
    const ifMatch = this.control.current.revision;
    let split: Record<string, number> | undefined;
    if (out.kind === 'advance') split = canarySplit(pools, svc.split, r.pool, out.percent);
    if (out.kind === 'rollback') split = flipSplit(pools, r.stablePool);
    try {
      await this.control.execute(
        { kind: 'rollout', service, action: ACTIONS[out.kind], rollout: out.record, ...(split !== undefined ? { split } : {}) },
        { actor: ACTOR, ifMatch, ...(out.kind === 'rollback' ? { force: true } : {}) },
      );
    } catch (err) {
      if (!(err instanceof ConflictError) || out.kind !== 'advance') throw err;
      const reason = `step ${out.record.stepIndex + 1}: cannot raise ${r.pool} to ${out.percent}%: ${err.message}`;
      const failed: RolloutRecord = { ...r, state: 'rolled_back', reason, endedAt: new Date(this.now()).toISOString(), results: out.record.results.slice(0, r.results.length + 1) };
      return this.write(service, r, { kind: 'rollback', reason, record: failed });
    }
    const rec = out.record;
    // The mirror-first phase is over (passed, or failed): the copies stop.
    if (r.mirroring === true && (rec.mirroring !== true || rec.state === 'rolled_back')) {
      await this.mirror.set(service, null).catch((err: unknown) => this.logger.warn({ service, err: (err as Error).message }, 'stopping the mirror failed'));
    }
    const log = { service, rollout: r.id, step: rec.stepIndex + 1, percent: rec.steps[rec.stepIndex] };
    if (out.kind === 'check') return;
    if (out.kind === 'advance') this.logger.info(log, 'rollout raised the canary');
    if (out.kind === 'pause') this.logger.info(log, 'rollout paused at a pause step');
    if (out.kind === 'promote') this.logger.info(log, 'rollout promoted');
    if (out.kind === 'rollback') this.logger.warn({ ...log, reason: out.reason }, 'rollout rolled back');
    const last = rec.results[rec.results.length - 1];
    const readings = last?.readings ?? null;
    this.hooks.tell(service, rec, 'event', readings);
    if (out.kind === 'promote') this.hooks.tell(service, rec, 'post-rollout', readings, (a) => this.keepAnswers(service, rec.id, a));
    if (out.kind === 'rollback') this.hooks.tell(service, rec, 'rollback', readings, (a) => this.keepAnswers(service, rec.id, a));
  }

  /** A told hook's answers join the (ended) record, so they are in the rollout's view and the history. */
  async keepAnswers(service: string, id: string, answers: readonly WebhookAnswer[]): Promise<void> {
    const r = this.control.current.services[service]?.rollout;
    if (r === undefined || r.id !== id || answers.length === 0) return;
    const at = new Date(this.now()).toISOString();
    const next: RolloutRecord = { ...r, hookAnswers: [...(r.hookAnswers ?? []), ...answers.map((a) => ({ ...a, at }))] };
    await this.control.execute({ kind: 'rollout', service, action: 'rollout_webhook', rollout: next }, { actor: ACTOR });
  }
}
