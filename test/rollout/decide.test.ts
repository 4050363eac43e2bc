import { describe, expect, test } from 'vitest';
import { decide, validateSteps } from '../../src/model/index.js';
import type { RolloutRecord } from '../../src/model/index.js';

const base: RolloutRecord = {
  id: 'ro-1',
  pool: 'canary',
  stablePool: 'stable',
  steps: [1, 5, 25, 100],
  stepDurationMs: 60_000,
  gates: { maxErrorRate: 0.01, maxP99Ms: 500, minRequests: 100, maxWaitMs: 30_000 },
  state: 'running',
  stepIndex: 0,
  stepStartedAtMs: 0,
  startedAt: '1970-01-01T00:00:00.000Z',
  actor: 'ci',
  results: [],
};
const ok = { requests: 1000, errors: 5, p99Ms: 120 };

describe('rollout decisions', () => {
  test.each<[string, Partial<RolloutRecord>, { requests: number; errors: number; p99Ms: number }, number, string, string | number | undefined]>([
    ['holds the step for its duration', {}, ok, 59_999, 'wait', 'holding'],
    ['raises to the next step when the gates pass', {}, ok, 60_000, 'advance', 5],
    ['error rate above the gate rolls back', {}, { requests: 1000, errors: 11, p99Ms: 100 }, 60_000, 'rollback', 'error rate 1.1% (11/1000) above maxErrorRate 1%'],
    ['error rate exactly at the gate passes', {}, { requests: 1000, errors: 10, p99Ms: 100 }, 60_000, 'advance', 5],
    ['p99 above the gate rolls back', {}, { requests: 1000, errors: 0, p99Ms: 501 }, 60_000, 'rollback', 'p99 501ms above maxP99Ms 500ms'],
    ['too few requests: waits up to maxWait', {}, { requests: 99, errors: 0, p99Ms: 1 }, 89_999, 'wait', 'min_requests'],
    ['too few requests after maxWait: rolls back', {}, { requests: 99, errors: 0, p99Ms: 1 }, 90_000, 'rollback', 'only 99 request(s) to canary'],
    ['the last step passing promotes', { stepIndex: 3 }, ok, 60_000, 'promote', undefined],
    ['a paused rollout does nothing', { state: 'paused' }, ok, 1e9, 'wait', 'not_running'],
    ['no p99 gate: slow is fine', { gates: { maxErrorRate: 0.01, minRequests: 1, maxWaitMs: 0 } }, { requests: 10, errors: 0, p99Ms: 9999 }, 60_000, 'advance', 5],
  ])('%s', (_name, over, reading, now, kind, detail) => {
    const d = decide({ ...base, ...over }, reading, now);
    expect(d.kind).toBe(kind);
    if (d.kind === 'wait') expect(d.why).toBe(detail);
    if (d.kind === 'advance') expect(d.percent).toBe(detail);
    if (d.kind === 'rollback') expect(d.reason).toContain(detail as string);
    if (d.kind !== 'wait') expect(d.result.step).toBe(((over.stepIndex ?? 0) as number) + 1);
  });

  test.each([
    [[1, 5, 25, 100], undefined],
    [[], 'steps must have 1 to 20 entries'],
    [[5, 5], 'steps must rise strictly'],
    [[10, 5], 'steps must rise strictly'],
    [[0, 50], 'each step must be a percent in (0, 100]'],
    [[50, 101], 'each step must be a percent in (0, 100]'],
    [[0.001], 'steps have at most two decimals'],
  ])('validateSteps(%j) = %s', (steps, msg) => {
    expect(validateSteps(steps)).toBe(msg);
  });
});
