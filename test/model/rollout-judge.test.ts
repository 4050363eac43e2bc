import { describe, expect, test } from 'vitest';
import { judgeCheck, tolerate } from '../../src/model/index.js';
import type { CheckGates, CheckReadings } from '../../src/model/index.js';

const p = (requests: number, errors: number, p99Ms = 10): { requests: number; errors: number; p99Ms: number } => ({ requests, errors, p99Ms });

describe('judgeCheck', () => {
  test.each<[string, CheckGates, CheckReadings, string[]]>([
    ['both at 3 %: passes maxErrorRateIncrease 0.01 with no absolute gate', { minRequests: 10, baseline: { maxErrorRateIncrease: 0.01 } }, { canary: p(100, 3), stable: p(1000, 30) }, []],
    [
      '10 % beside 1 %: fails, naming both rates',
      { minRequests: 10, baseline: { maxErrorRateIncrease: 0.01 } },
      { canary: p(100, 10), stable: p(1000, 10) },
      ['error rate 10% of canary vs 1% of stable: increase 9% above maxErrorRateIncrease 1%'],
    ],
    ['stable below minRequests: the baseline does not apply', { minRequests: 10, baseline: { maxErrorRateIncrease: 0.01 } }, { canary: p(100, 10), stable: p(5, 0) }, []],
    ['canary at 100 % (no stable traffic): only absolute gates', { minRequests: 1, maxErrorRate: 0.05, baseline: { maxErrorRateIncrease: 0 } }, { canary: p(100, 10), stable: p(0, 0) }, ['error rate 10% (10/100) above maxErrorRate 5%']],
    [
      'a canary that adds 200 ms fails maxP99Ratio',
      { minRequests: 1, baseline: { maxP99Ratio: 1.5 } },
      { canary: p(100, 0, 210), stable: p(100, 0, 10) },
      ['p99 210ms of canary vs 10ms of stable: ratio 21 above maxP99Ratio 1.5'],
    ],
    ['sub-millisecond p99s are floored at 5 ms in the ratio', { minRequests: 1, baseline: { maxP99Ratio: 1.5 } }, { canary: p(100, 0, 3), stable: p(100, 0, 0.5) }, []],
    ['absolute p99', { minRequests: 1, maxP99Ms: 100 }, { canary: p(10, 0, 101) }, ['p99 101ms above maxP99Ms 100ms']],
    [
      'metrics: in bounds, below min, query error, no number',
      { minRequests: 1 },
      {
        canary: p(10, 0),
        metrics: [
          { name: 'ok', value: 0.99, min: 0.95 },
          { name: 'low', value: 0.9, min: 0.95 },
          { name: 'bad', error: 'HTTP 400: parse error' },
          { name: 'empty' },
        ],
      },
      ['metric "low" = 0.9 below min 0.95', 'metric "bad": HTTP 400: parse error', 'metric "empty": no number'],
    ],
    [
      'rollout webhooks: 2xx passes, 500 and a timeout fail',
      { minRequests: 1 },
      { canary: p(10, 0), webhooks: [{ name: 'a', type: 'rollout', status: 204, ms: 3 }, { name: 'b', type: 'rollout', status: 500, ms: 3 }, { name: 'c', type: 'rollout', error: 'timeout after 10s', ms: 10_000 }] },
      ['webhook "b" (rollout) answered 500', 'webhook "c" (rollout) failed: timeout after 10s'],
    ],
  ])('%s', (_name, gates, readings, reasons) => {
    expect(judgeCheck(gates, readings, 'canary', 'stable')).toEqual(reasons);
  });
});

describe('tolerate (failureThreshold)', () => {
  test('one failed check among passing ones with threshold 2 holds; two in a row roll back', () => {
    const seq = [false, true, false, true, true].reduce<{ failures: number; kinds: string[] }>(
      (acc, failed) => {
        const t = tolerate(acc.failures, failed, 2);
        return { failures: t.failures, kinds: [...acc.kinds, t.kind] };
      },
      { failures: 0, kinds: [] },
    );
    expect(seq.kinds).toEqual(['passed', 'held', 'passed', 'held', 'rollback']);
  });
  test.each([
    [0, true, 1, 'rollback'],
    [0, false, 3, 'passed'],
    [1, true, 3, 'held'],
    [2, true, 3, 'rollback'],
  ])('tolerate(%i, %s, %i) is %s', (prev, failed, threshold, kind) => {
    expect(tolerate(prev, failed, threshold).kind).toBe(kind);
  });
});
