import { describe, expect, test } from 'vitest';
import { inSlowStart, slowStartWeight, SLOW_START_FLOOR } from '../../src/balancer/slow-start.js';

describe('slow start ramp', () => {
  test.each([
    [0, 100 * SLOW_START_FLOOR],
    [100, 10],
    [250, 25],
    [500, 50],
    [999, 99.9],
    [1000, 100],
    [5000, 100],
  ])('at %ims of a 1000ms window weight 100 ramps to %f', (elapsed, expected) => {
    expect(slowStartWeight(100, 0, elapsed, 1000)).toBeCloseTo(expected, 6);
  });

  test('off when the window is 0', () => {
    expect(slowStartWeight(100, 0, 0, 0)).toBe(100);
    expect(inSlowStart(0, 0, 0)).toBe(false);
  });

  test('ramping ends at the window', () => {
    expect(inSlowStart(1000, 1500, 1000)).toBe(true);
    expect(inSlowStart(1000, 2000, 1000)).toBe(false);
  });

  test('weight 0 stays 0', () => {
    expect(slowStartWeight(0, 0, 10, 1000)).toBe(0);
  });
});
