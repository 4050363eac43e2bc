import { randomBytes } from 'node:crypto';
import type { RolloutGates, RolloutPause, RolloutRecord, RolloutWebhook } from '../model/index.js';

export interface StartRollout {
  readonly pool: string;
  readonly steps: readonly number[];
  readonly stepDurationMs: number;
  readonly gates?: Partial<RolloutGates>;
  readonly strategy?: 'canary' | 'blueGreen';
  readonly pauses?: readonly RolloutPause[];
  readonly webhooks?: readonly RolloutWebhook[];
  /** Mirror first (needs the `mirror` port). */
  readonly mirror?: { readonly percent: number; readonly durationMs: number };
}

/** The record a rollout starts with: the gates' defaults filled in, step 1 (or mirror first) from `now`. */
export function newRecord(req: StartRollout, stablePool: string, actor: string, now: number): RolloutRecord {
  const g = req.gates ?? {};
  const gates: RolloutGates = {
    // The absolute default applies unless a baseline judges the error rate instead.
    ...(g.maxErrorRate !== undefined ? { maxErrorRate: g.maxErrorRate } : g.baseline === undefined ? { maxErrorRate: 0.01 } : {}),
    ...(g.maxP99Ms !== undefined ? { maxP99Ms: g.maxP99Ms } : {}),
    minRequests: g.minRequests ?? 1,
    maxWaitMs: g.maxWaitMs ?? req.stepDurationMs,
    ...(g.baseline !== undefined ? { baseline: g.baseline } : {}),
    ...(g.intervalMs !== undefined ? { intervalMs: g.intervalMs } : {}),
    ...(g.failureThreshold !== undefined ? { failureThreshold: g.failureThreshold } : {}),
    ...(g.metrics !== undefined && g.metrics.length > 0 ? { metrics: g.metrics } : {}),
  };
  return {
    id: `ro-${randomBytes(4).toString('hex')}`,
    pool: req.pool,
    stablePool,
    steps: [...req.steps],
    stepDurationMs: req.stepDurationMs,
    gates,
    state: 'running',
    stepIndex: 0,
    stepStartedAtMs: now,
    startedAt: new Date(now).toISOString(),
    actor,
    results: [],
    ...(req.strategy === 'blueGreen' ? { strategy: 'blueGreen' as const } : {}),
    ...(req.pauses !== undefined && req.pauses.length > 0 ? { pauses: req.pauses } : {}),
    ...(req.webhooks !== undefined && req.webhooks.length > 0 ? { webhooks: req.webhooks } : {}),
    ...(req.mirror !== undefined ? { mirror: req.mirror, mirroring: true } : {}),
  };
}
