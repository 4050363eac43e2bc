/**
 * Automated canary: the rollout record stored with its service, and the pure decision taken at
 * each tick from a gate reading. No timers or I/O here; `now` is passed in.
 */

import type { CheckReadings, WebhookAnswer } from './rollout-judge.js';

export type RolloutState = 'running' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';

export interface RolloutGates {
  /** 5xx and proxy errors / requests of the canary pool over the step (default 0.01; none when a baseline is given without it). */
  readonly maxErrorRate?: number;
  /** p99 latency of the canary pool over the step, ms (no limit when absent). */
  readonly maxP99Ms?: number;
  /** Requests the canary pool must have seen in the step before it is judged (default 1). */
  readonly minRequests: number;
  /** How long a step may wait past its duration for minRequests (default: one step duration). */
  readonly maxWaitMs: number;
  /** The canary against the stable pool over the same window. */
  readonly baseline?: { readonly maxErrorRateIncrease?: number; readonly maxP99Ratio?: number };
  /** A check judges the last interval (default: the step duration). */
  readonly intervalMs?: number;
  /** That many failed checks in a row roll back (default 1). */
  readonly failureThreshold?: number;
  /** PromQL gates: one number within min/max. */
  readonly metrics?: readonly MetricGate[];
}

export interface MetricGate {
  readonly name: string;
  readonly query: string;
  readonly min?: number;
  readonly max?: number;
}

export const WEBHOOK_TYPES = ['pre-rollout', 'rollout', 'confirm-promotion', 'post-rollout', 'rollback', 'event'] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];

export interface RolloutWebhook {
  readonly name: string;
  readonly type: WebhookType;
  readonly url: string;
  readonly timeoutMs: number;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A pause step: held before the step at index `before` (steps.length: before the promotion); no `ms`: until resumed. */
export interface RolloutPause {
  readonly before: number;
  readonly ms?: number;
}

export interface StepResult {
  readonly step: number;
  readonly percent: number;
  readonly requests: number;
  readonly errorRate: number;
  readonly p99Ms: number;
  readonly passed: boolean;
  readonly at: string;
  readonly reason?: string;
  /** What the check saw: the pools, the metric gates and the webhook answers. */
  readonly readings?: CheckReadings;
}

export interface RolloutRecord {
  readonly id: string;
  readonly pool: string;
  /** Where traffic goes back on a failed gate or abort: the largest other pool at start. */
  readonly stablePool: string;
  readonly steps: readonly number[];
  readonly stepDurationMs: number;
  readonly gates: RolloutGates;
  readonly state: RolloutState;
  /** Index into `steps` of the share the canary holds now. */
  readonly stepIndex: number;
  /** Epoch ms the current step (or the resume) started its window. */
  readonly stepStartedAtMs: number;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly reason?: string;
  readonly actor: string;
  readonly results: readonly StepResult[];
  // Optional so that records stored by older versions still load.
  readonly strategy?: 'canary' | 'blueGreen';
  readonly pauses?: readonly RolloutPause[];
  /** While a pause step holds (state `paused`): which one, and until when (none: until resumed). */
  readonly hold?: { readonly before: number; readonly untilMs?: number };
  readonly webhooks?: readonly RolloutWebhook[];
  /** Failed checks in a row. */
  readonly failures?: number;
  /** Epoch ms of the last judged check: the next window starts here. */
  readonly lastCheckAtMs?: number;
  /** The step is over and passed; the confirm-promotion webhooks have not said yes yet. */
  readonly awaitingConfirmation?: boolean;
  /** Errors of the canary pool summed over the rollout's checks (blue-green: what failed before a flip back). */
  readonly failedRequests?: number;
  /** Mirror first: before step 1 the canary gets `percent` % copies of live traffic for `durationMs`, gated like a step. */
  readonly mirror?: { readonly percent: number; readonly durationMs: number };
  /** The mirror-first phase runs (no split moved yet; the checks judge the mirrored answers). */
  readonly mirroring?: boolean;
  /** Answers of the hooks that are not part of a check: pre-rollout, post-rollout, rollback. */
  readonly hookAnswers?: readonly (WebhookAnswer & { readonly at: string })[];
}

export const ACTIVE_ROLLOUT_STATES: readonly RolloutState[] = ['running', 'paused'];

export function isActive(r: RolloutRecord | undefined): boolean {
  return r !== undefined && ACTIVE_ROLLOUT_STATES.includes(r.state);
}

/** What the gates saw for the canary pool over the current step. */
export interface GateReading {
  readonly requests: number;
  readonly errors: number;
  readonly p99Ms: number;
}

export type RolloutDecision =
  | { readonly kind: 'wait'; readonly why: 'holding' | 'not_running' | 'min_requests' }
  | { readonly kind: 'advance'; readonly percent: number; readonly result: StepResult }
  | { readonly kind: 'promote'; readonly result: StepResult }
  | { readonly kind: 'rollback'; readonly reason: string; readonly result: StepResult };

const pct = (v: number): string => `${Math.round(v * 10_000) / 100}%`;

/**
 * The decision at `nowMs`: hold the step for its duration; then judge it on the reading (wait up to
 * maxWait for minRequests); a failed gate rolls back, a pass raises to the next step or, after the
 * last step, promotes.
 */
export function decide(r: RolloutRecord, reading: GateReading, nowMs: number): RolloutDecision {
  if (r.state !== 'running') return { kind: 'wait', why: 'not_running' };
  const elapsed = nowMs - r.stepStartedAtMs;
  if (elapsed < r.stepDurationMs) return { kind: 'wait', why: 'holding' };
  const percent = r.steps[r.stepIndex] ?? 0;
  const errorRate = reading.requests === 0 ? 0 : reading.errors / reading.requests;
  const base = {
    step: r.stepIndex + 1,
    percent,
    requests: reading.requests,
    errorRate: Math.round(errorRate * 1e6) / 1e6,
    p99Ms: reading.p99Ms,
    at: new Date(nowMs).toISOString(),
  };
  if (reading.requests < r.gates.minRequests) {
    if (elapsed < r.stepDurationMs + r.gates.maxWaitMs) return { kind: 'wait', why: 'min_requests' };
    return {
      kind: 'rollback',
      reason: `step ${base.step} (${percent}%): only ${reading.requests} request(s) to ${r.pool} within the step and maxWait; minRequests is ${r.gates.minRequests}`,
      result: { ...base, passed: false },
    };
  }
  if (r.gates.maxErrorRate !== undefined && errorRate > r.gates.maxErrorRate) {
    return {
      kind: 'rollback',
      reason: `step ${base.step} (${percent}%): error rate ${pct(errorRate)} (${reading.errors}/${reading.requests}) above maxErrorRate ${pct(r.gates.maxErrorRate)}`,
      result: { ...base, passed: false },
    };
  }
  if (r.gates.maxP99Ms !== undefined && reading.p99Ms > r.gates.maxP99Ms) {
    return {
      kind: 'rollback',
      reason: `step ${base.step} (${percent}%): p99 ${reading.p99Ms}ms above maxP99Ms ${r.gates.maxP99Ms}ms`,
      result: { ...base, passed: false },
    };
  }
  const next = r.steps[r.stepIndex + 1];
  if (next === undefined) return { kind: 'promote', result: { ...base, passed: true } };
  return { kind: 'advance', percent: next, result: { ...base, passed: true } };
}

/** Steps must rise strictly, each in (0, 100] with at most two decimals; 1..20 of them. */
export function validateSteps(steps: readonly number[]): string | undefined {
  if (steps.length < 1 || steps.length > 20) return 'steps must have 1 to 20 entries';
  let prev = 0;
  for (const s of steps) {
    if (!Number.isFinite(s) || s <= 0 || s > 100) return 'each step must be a percent in (0, 100]';
    if (Math.abs(s * 100 - Math.round(s * 100)) > 1e-6) return 'steps have at most two decimals';
    if (s <= prev) return 'steps must rise strictly';
    prev = s;
  }
  return undefined;
}
