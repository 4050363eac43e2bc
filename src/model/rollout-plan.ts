/**
 * The rollout's next action, in two pure looks at a tick: `admit` on the cheap pool counts (is a
 * check due, are there enough requests, is a timed pause over), then `conclude` once the
 * controller's ports gathered the metric readings and webhook answers. Time is passed in.
 */
import type { RolloutRecord, StepResult } from './rollout.js';
import { judgeCheck, tolerate, webhookOk } from './rollout-judge.js';
import type { CheckReadings, PoolReading, WebhookAnswer } from './rollout-judge.js';

/** How long the current step holds: the mirror-first phase's duration while it runs. */
export const durationOf = (r: RolloutRecord): number => (r.mirroring === true && r.mirror !== undefined ? r.mirror.durationMs : r.stepDurationMs);

/** A check judges the last interval (default: the step duration). */
export const intervalOf = (r: RolloutRecord): number => r.gates.intervalMs ?? durationOf(r);

/** Epoch ms the current check window began: the last judged check in this step, or the step's start. */
export const windowStartOf = (r: RolloutRecord): number => Math.max(r.lastCheckAtMs ?? r.stepStartedAtMs, r.stepStartedAtMs);

export const hasWebhook = (r: RolloutRecord, type: string): boolean => (r.webhooks ?? []).some((w) => w.type === type);

/** Is the step past its duration, and is the next one the last (or, with one step, the promotion)? */
export function needsConfirmation(r: RolloutRecord, nowMs: number): boolean {
  if (r.mirroring === true || !hasWebhook(r, 'confirm-promotion') || nowMs < r.stepStartedAtMs + durationOf(r)) return false;
  return r.stepIndex + 1 === r.steps.length - 1 || r.steps.length === 1;
}

export type Admission =
  | { readonly kind: 'wait'; readonly why: 'not_running' | 'not_due' | 'min_requests' | 'paused' }
  /** A timed pause is over: go on (`resumeFromPause`). */
  | { readonly kind: 'resume' }
  /** Gather the metric gates and `rollout` webhooks (and `confirm-promotion` ones when `confirm`), then `conclude`. */
  | { readonly kind: 'judge'; readonly confirm: boolean }
  | { readonly kind: 'rollback'; readonly reason: string; readonly record: RolloutRecord };

const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;

/** The record keeps this many check results, the newest (long steps with short intervals would grow it without end). */
export const RESULTS_LIMIT = 500;
const appended = <T>(list: readonly T[], item: T): T[] => [...list, item].slice(-RESULTS_LIMIT);

function resultOf(r: RolloutRecord, readings: CheckReadings, nowMs: number, reasons: readonly string[]): StepResult {
  const c = readings.canary;
  return {
    // The mirror-first phase is step 0, at 0 % of real traffic.
    step: r.mirroring === true ? 0 : r.stepIndex + 1,
    percent: r.mirroring === true ? 0 : (r.steps[r.stepIndex] ?? 0),
    requests: c.requests,
    errorRate: c.requests === 0 ? 0 : round6(c.errors / c.requests),
    p99Ms: c.p99Ms,
    passed: reasons.length === 0,
    at: new Date(nowMs).toISOString(),
    ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
    readings,
  };
}

const stepName = (r: RolloutRecord): string =>
  r.mirroring === true ? `mirror (${r.mirror?.percent ?? 0}% copied)` : `step ${r.stepIndex + 1} (${r.steps[r.stepIndex] ?? 0}%)`;

/** First look, on the pool counts since the window began. */
export function admit(r: RolloutRecord, canary: PoolReading, nowMs: number): Admission {
  if (r.state === 'paused') {
    return r.hold?.untilMs !== undefined && nowMs >= r.hold.untilMs ? { kind: 'resume' } : { kind: 'wait', why: 'paused' };
  }
  if (r.state !== 'running') return { kind: 'wait', why: 'not_running' };
  const stepEnd = r.stepStartedAtMs + durationOf(r);
  const from = windowStartOf(r);
  const dueAt = from < stepEnd ? Math.min(from + intervalOf(r), stepEnd) : from + intervalOf(r);
  if (nowMs < dueAt) return { kind: 'wait', why: 'not_due' };
  if (canary.requests < r.gates.minRequests) {
    // Too few to judge: the window grows; past the step (and maxWait) that is a failed gate.
    if (nowMs < Math.max(stepEnd, dueAt) + r.gates.maxWaitMs) return { kind: 'wait', why: 'min_requests' };
    const reason = `${stepName(r)}: only ${canary.requests} request(s) to ${r.pool} within the step and maxWait; minRequests is ${r.gates.minRequests}`;
    const result = resultOf(r, { canary }, nowMs, [reason]);
    return { kind: 'rollback', reason, record: ended(r, 'rolled_back', reason, nowMs, { ...result, reason }) };
  }
  return { kind: 'judge', confirm: needsConfirmation(r, nowMs) };
}

export type Outcome =
  /** Stays in the step: a pass before its end, a failure under the threshold, or awaiting confirmation. */
  | { readonly kind: 'check'; readonly record: RolloutRecord }
  | { readonly kind: 'advance'; readonly percent: number; readonly record: RolloutRecord }
  | { readonly kind: 'pause'; readonly record: RolloutRecord }
  | { readonly kind: 'promote'; readonly record: RolloutRecord }
  | { readonly kind: 'rollback'; readonly reason: string; readonly record: RolloutRecord };

function ended(r: RolloutRecord, state: 'promoted' | 'rolled_back', reason: string | undefined, nowMs: number, result?: StepResult): RolloutRecord {
  const { hold: _hold, awaitingConfirmation: _awaiting, ...rest } = r;
  return {
    ...rest,
    state,
    endedAt: new Date(nowMs).toISOString(),
    ...(reason !== undefined ? { reason } : {}),
    results: result !== undefined ? appended(r.results, result) : r.results,
  };
}

/** On to the next step (its window starts now), or promoted after the last. */
function goOn(r: RolloutRecord, nowMs: number): Outcome {
  if (r.mirroring === true) {
    // Mirror first passed: the copies stop and step 1 moves real traffic.
    const { lastCheckAtMs: _last, ...rest } = r;
    return { kind: 'advance', percent: r.steps[0] ?? 0, record: { ...rest, mirroring: false, stepIndex: 0, stepStartedAtMs: nowMs, failures: 0 } };
  }
  const next = r.steps[r.stepIndex + 1];
  if (next === undefined) return { kind: 'promote', record: ended(r, 'promoted', undefined, nowMs) };
  const { hold: _hold, awaitingConfirmation: _awaiting, lastCheckAtMs: _last, ...rest } = r;
  return { kind: 'advance', percent: next, record: { ...rest, state: 'running', stepIndex: r.stepIndex + 1, stepStartedAtMs: nowMs, failures: 0 } };
}

/**
 * The check judged: readings against the gates, the failure count against `failureThreshold`; a
 * step that is over and passed asks for confirmation (if a hook wants it), pauses (if a pause step
 * follows), or goes on.
 */
export function conclude(r: RolloutRecord, readings: CheckReadings, confirmations: readonly WebhookAnswer[] | undefined, nowMs: number): Outcome {
  const g = r.gates;
  const reasons = judgeCheck(
    { ...(g.maxErrorRate !== undefined ? { maxErrorRate: g.maxErrorRate } : {}), ...(g.maxP99Ms !== undefined ? { maxP99Ms: g.maxP99Ms } : {}), minRequests: g.minRequests, ...(g.baseline ? { baseline: g.baseline } : {}) },
    readings,
    r.pool,
    r.stablePool,
  );
  const told = confirmations !== undefined && confirmations.length > 0 ? { ...readings, webhooks: [...(readings.webhooks ?? []), ...confirmations] } : readings;
  const result = resultOf(r, told, nowMs, reasons);
  const threshold = g.failureThreshold ?? 1;
  const t = tolerate(r.failures ?? 0, reasons.length > 0, threshold);
  const failedRequests = (r.failedRequests ?? 0) + readings.canary.errors;
  const checked: RolloutRecord = { ...r, results: appended(r.results, result), failures: t.failures, lastCheckAtMs: nowMs, failedRequests };
  if (t.kind === 'rollback') {
    let reason = `${stepName(r)}: ${reasons.join('; ')}`;
    if (threshold > 1) reason += ` (${t.failures} failed checks in a row, failureThreshold ${threshold})`;
    if (r.strategy === 'blueGreen') reason += `; ${failedRequests} request(s) failed on ${r.pool} after the flip`;
    return { kind: 'rollback', reason, record: ended(checked, 'rolled_back', reason, nowMs) };
  }
  if (t.kind === 'held' || nowMs < r.stepStartedAtMs + durationOf(r)) return { kind: 'check', record: checked };
  if (confirmations !== undefined) {
    if (!confirmations.every(webhookOk)) return { kind: 'check', record: { ...checked, awaitingConfirmation: true } };
  }
  const pause = r.mirroring === true ? undefined : (r.pauses ?? []).find((p) => p.before === r.stepIndex + 1);
  if (pause !== undefined) {
    const { awaitingConfirmation: _awaiting, ...rest } = checked;
    return { kind: 'pause', record: { ...rest, state: 'paused', hold: { before: pause.before, ...(pause.ms !== undefined ? { untilMs: nowMs + pause.ms } : {}) } } };
  }
  return goOn(checked, nowMs);
}

/** A pause step ends (its time is over, or resume/promote by hand): the next step, or the promotion. */
export function resumeFromPause(r: RolloutRecord, nowMs: number): Outcome {
  return goOn({ ...r, state: 'running' }, nowMs);
}
