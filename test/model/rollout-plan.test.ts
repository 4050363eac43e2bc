import { describe, expect, test } from 'vitest';
import { admit, conclude, resumeFromPause } from '../../src/model/index.js';
import type { CheckReadings, RolloutRecord, WebhookAnswer } from '../../src/model/index.js';

const base: RolloutRecord = {
  id: 'ro-1',
  pool: 'canary',
  stablePool: 'stable',
  steps: [10, 50, 100],
  stepDurationMs: 60_000,
  gates: { minRequests: 10, maxWaitMs: 30_000, baseline: { maxErrorRateIncrease: 0.01, maxP99Ratio: 1.5 } },
  state: 'running',
  stepIndex: 0,
  stepStartedAtMs: 0,
  startedAt: '1970-01-01T00:00:00.000Z',
  actor: 'ci',
  results: [],
};
const pool = (requests: number, errors: number, p99Ms: number) => ({ requests, errors, p99Ms });
const at3 = { canary: pool(1000, 30, 50), stable: pool(1000, 30, 50) };

describe('rollout plan: a check judged (baseline, interval, failureThreshold)', () => {
  test.each<[string, Partial<RolloutRecord>, CheckReadings, number, string, RegExp | number | undefined]>([
    ['both pools at 3 % errors, no absolute gate: the step advances', {}, at3, 60_000, 'advance', 50],
    ['the last step passing promotes', { stepIndex: 2 }, { canary: pool(1000, 30, 50) }, 60_000, 'promote', undefined],
    ['10 % beside 1 %: rolled back naming both rates', {}, { canary: pool(1000, 100, 50), stable: pool(1000, 10, 50) }, 60_000, 'rollback', /error rate 10% of canary vs 1% of stable/],
    ['a canary that adds 200 ms: p99 ratio fails', {}, { canary: pool(1000, 0, 210), stable: pool(1000, 0, 10) }, 60_000, 'rollback', /p99 210ms of canary vs 10ms of stable: ratio 21 above maxP99Ratio 1.5/],
    ['stable without traffic: only absolute gates (none here)', {}, { canary: pool(1000, 500, 900) }, 60_000, 'advance', 50],
    ['absolute gate beside the baseline', { gates: { ...base.gates, maxErrorRate: 0.02 } }, at3, 60_000, 'rollback', /above maxErrorRate 2%/],
    ['a pass before the step ends stays in the step (interval)', { gates: { ...base.gates, intervalMs: 10_000 } }, at3, 10_000, 'check', undefined],
    ['one failure under failureThreshold 2 holds the step', { gates: { ...base.gates, failureThreshold: 2 } }, { canary: pool(1000, 100, 50), stable: pool(1000, 10, 50) }, 60_000, 'check', undefined],
    ['a second failure in a row rolls back', { failures: 1, gates: { ...base.gates, failureThreshold: 2 } }, { canary: pool(1000, 100, 50), stable: pool(1000, 10, 50) }, 60_000, 'rollback', /2 failed checks in a row, failureThreshold 2/],
    ['a failed metric gate fails the check with its reason', { gates: { ...base.gates, metrics: [{ name: 'ok', query: 'x', min: 0.99 }] } }, { ...at3, metrics: [{ name: 'ok', error: 'Prometheus unreachable', min: 0.99 }] }, 60_000, 'rollback', /metric "ok": Prometheus unreachable/],
    ['a rollout webhook answering 500 fails the check', {}, { ...at3, webhooks: [{ name: 'smoke', type: 'rollout', status: 500, ms: 3 }] }, 60_000, 'rollback', /webhook "smoke" \(rollout\) answered 500/],
  ])('%s', (_name, patch, readings, now, kind, detail) => {
    const out = conclude({ ...base, ...patch }, readings, undefined, now);
    expect(out.kind).toBe(kind);
    if (out.kind === 'advance') expect(out.percent).toBe(detail);
    if (out.kind === 'rollback') expect(out.reason).toMatch(detail as RegExp);
    const last = out.record.results.at(-1);
    expect(last?.passed).toBe(kind === 'advance' || kind === 'promote' || (kind === 'check' && patch.gates?.failureThreshold === undefined));
    expect(last?.readings?.canary).toEqual(readings.canary);
  });

  test('a pass resets the failure count; a hold keeps the window moving', () => {
    const r = { ...base, gates: { ...base.gates, failureThreshold: 2, intervalMs: 20_000 } };
    const bad = { canary: pool(100, 50, 5), stable: pool(100, 0, 5) };
    const o1 = conclude(r, bad, undefined, 20_000);
    expect(o1).toMatchObject({ kind: 'check', record: { failures: 1, lastCheckAtMs: 20_000 } });
    const o2 = conclude(o1.record, at3, undefined, 40_000);
    expect(o2).toMatchObject({ kind: 'check', record: { failures: 0 } });
    const o3 = conclude(o2.record, bad, undefined, 60_000);
    expect(o3.kind).toBe('check');
    expect(conclude(o3.record, bad, undefined, 80_000).kind).toBe('rollback');
  });
});

describe('rollout plan: admission (due, minRequests, pauses)', () => {
  test.each<[string, Partial<RolloutRecord>, number, number, string]>([
    ['not due before the step ends (interval = step)', {}, 1000, 59_999, 'wait'],
    ['due at the step end', {}, 1000, 60_000, 'judge'],
    ['due at each interval', { gates: { ...base.gates, intervalMs: 10_000 } }, 1000, 10_000, 'judge'],
    ['next interval counted from the last check', { lastCheckAtMs: 10_000, gates: { ...base.gates, intervalMs: 10_000 } }, 1000, 19_999, 'wait'],
    ['too few requests mid-step: not judged', { gates: { ...base.gates, intervalMs: 10_000 } }, 3, 10_000, 'wait'],
    ['too few requests past step and maxWait: rolled back', {}, 3, 90_000, 'rollback'],
    ['an operator pause waits', { state: 'paused' }, 1000, 1e9, 'wait'],
    ['a manual pause step waits', { state: 'paused', hold: { before: 1 } }, 1000, 1e9, 'wait'],
    ['a timed pause holds until its end', { state: 'paused', hold: { before: 1, untilMs: 600_000 } }, 1000, 599_999, 'wait'],
    ['a timed pause is over', { state: 'paused', hold: { before: 1, untilMs: 600_000 } }, 1000, 600_000, 'resume'],
    ['an ended rollout waits', { state: 'promoted' }, 1000, 1e9, 'wait'],
  ])('%s', (_name, patch, requests, now, kind) => {
    expect(admit({ ...base, ...patch }, pool(requests, 0, 1), now).kind).toBe(kind);
  });

  test('confirm-promotion is asked once the step before the last is over', () => {
    const r = { ...base, stepIndex: 1, webhooks: [{ name: 'ok', type: 'confirm-promotion' as const, url: 'http://127.0.0.1:1/', timeoutMs: 1000 }] };
    expect(admit(r, pool(100, 0, 1), 60_000)).toEqual({ kind: 'judge', confirm: true });
    expect(admit({ ...r, stepIndex: 0 }, pool(100, 0, 1), 60_000)).toEqual({ kind: 'judge', confirm: false });
  });
});

describe('rollout plan: manual gates and pauses (injected clock)', () => {
  const no: WebhookAnswer = { name: 'human', type: 'confirm-promotion', status: 403, ms: 1 };
  const yes: WebhookAnswer = { ...no, status: 200 };

  test('a confirm-promotion 403 holds before the last step; a 200 goes on', () => {
    const r = { ...base, stepIndex: 1 };
    const held = conclude(r, at3, [no], 60_000);
    expect(held).toMatchObject({ kind: 'check', record: { awaitingConfirmation: true, stepIndex: 1 } });
    const again = conclude(held.record, at3, [no], 120_000);
    expect(again.kind).toBe('check');
    const go = conclude(again.record, at3, [yes], 180_000);
    expect(go).toMatchObject({ kind: 'advance', percent: 100 });
    expect(go.record.awaitingConfirmation).toBeUndefined();
    expect(go.record.results.at(-1)?.readings?.webhooks).toEqual([yes]);
  });

  test('a timed pause step: paused at the step end, until now + its duration, then the next step', () => {
    const r = { ...base, pauses: [{ before: 1, ms: 600_000 }] };
    const p = conclude(r, at3, undefined, 60_000);
    expect(p).toMatchObject({ kind: 'pause', record: { state: 'paused', hold: { before: 1, untilMs: 660_000 }, stepIndex: 0 } });
    expect(admit(p.record, pool(0, 0, 0), 659_999).kind).toBe('wait');
    expect(admit(p.record, pool(0, 0, 0), 660_000).kind).toBe('resume');
    const next = resumeFromPause(p.record, 660_000);
    expect(next).toMatchObject({ kind: 'advance', percent: 50, record: { state: 'running', stepIndex: 1, stepStartedAtMs: 660_000 } });
    expect(next.record.hold).toBeUndefined();
  });

  test('a manual pause after the last step holds the promotion until resumed', () => {
    const r = { ...base, stepIndex: 2, pauses: [{ before: 3 }] };
    const p = conclude(r, { canary: pool(100, 0, 5) }, undefined, 60_000);
    expect(p).toMatchObject({ kind: 'pause', record: { hold: { before: 3 } } });
    expect(admit(p.record, pool(0, 0, 0), 1e12).kind).toBe('wait');
    expect(resumeFromPause(p.record, 70_000)).toMatchObject({ kind: 'promote', record: { state: 'promoted' } });
  });

  test('blue-green: the errors after the flip are counted in the reason of the flip back', () => {
    const r: RolloutRecord = { ...base, strategy: 'blueGreen', steps: [100], gates: { maxErrorRate: 0.01, minRequests: 1, maxWaitMs: 1000, intervalMs: 1000 }, stepDurationMs: 30_000, failedRequests: 2 };
    const out = conclude(r, { canary: pool(100, 40, 5) }, undefined, 11_000);
    expect(out.kind).toBe('rollback');
    expect(out.record.failedRequests).toBe(42);
    if (out.kind === 'rollback') expect(out.reason).toMatch(/42 request\(s\) failed on canary after the flip/);
  });
});

describe('rollout plan: mirror first', () => {
  const m: RolloutRecord = { ...base, mirror: { percent: 100, durationMs: 30_000 }, mirroring: true, gates: { maxErrorRate: 0.01, minRequests: 10, maxWaitMs: 10_000 } };

  test('the phase holds for the mirror duration, then step 1 moves real traffic', () => {
    expect(admit(m, pool(100, 0, 5), 29_999).kind).toBe('wait');
    expect(admit(m, pool(100, 0, 5), 30_000)).toEqual({ kind: 'judge', confirm: false });
    const out = conclude(m, { canary: pool(100, 0, 5), stable: pool(100, 0, 5) }, undefined, 30_000);
    expect(out).toMatchObject({ kind: 'advance', percent: 10, record: { mirroring: false, stepIndex: 0, stepStartedAtMs: 30_000, state: 'running' } });
    expect(out.record.results.at(-1)).toMatchObject({ step: 0, percent: 0, passed: true });
  });

  test('mirrored answers failing the gate roll back before any real request moved', () => {
    const out = conclude(m, { canary: pool(100, 20, 5) }, undefined, 30_000);
    expect(out.kind).toBe('rollback');
    if (out.kind === 'rollback') expect(out.reason).toMatch(/^mirror \(100% copied\): error rate 20% \(20\/100\) above maxErrorRate 1%$/);
  });
});

test('the record keeps the newest RESULTS_LIMIT check results', async () => {
  const { RESULTS_LIMIT } = await import('../../src/model/rollout-plan.js');
  const results = Array.from({ length: RESULTS_LIMIT }, (_, i) => ({ step: 1, percent: 10, requests: i, errorRate: 0, p99Ms: 1, passed: true, at: 'x' }));
  const out = conclude({ ...base, results, gates: { ...base.gates, intervalMs: 1000 } }, at3, undefined, 1000);
  expect(out.record.results).toHaveLength(RESULTS_LIMIT);
  expect(out.record.results[0]?.requests).toBe(1);
  expect(out.record.results.at(-1)?.requests).toBe(1000);
});
