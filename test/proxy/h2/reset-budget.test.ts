import { expect, test } from 'vitest';
import { newResetBudget, spendReset } from '../../../src/proxy/h2/reset-budget.js';

const LIMITS = { burst: 3, ratePerSec: 2 };

// Each row: aborted streams at these times (ms) → whether each was within the budget.
test.each([
  ['a burst within the budget', [0, 0, 0], [true, true, true]],
  ['one more than the burst at once', [0, 0, 0, 0], [true, true, true, false]],
  ['the bucket refills at the rate: 2/s gives one token per 500 ms', [0, 0, 0, 499, 500], [true, true, true, false, true]],
  ['a slow steady rate never runs out', [0, 600, 1200, 1800, 2400, 3000, 3600], [true, true, true, true, true, true, true]],
  ['refill is capped at the burst', [0, 10_000, 10_000, 10_000, 10_000], [true, true, true, true, false]],
])('%s', (_name, times, expected) => {
  const b = newResetBudget(LIMITS, 0);
  expect(times.map((t) => spendReset(b, LIMITS, t))).toEqual(expected);
});
