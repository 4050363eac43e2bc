import { describe, expect, test } from 'vitest';
import { healthAllows, isEligible } from '../../src/model/index.js';
import type { EligibilityFacts } from '../../src/model/index.js';

const base: EligibilityFacts = { state: 'active', weight: 100, health: 'healthy', checked: true, ejected: false };

describe('isEligible: the SPEC rule, written once', () => {
  test.each<[string, Partial<EligibilityFacts>, boolean]>([
    ['active, weight > 0, healthy, not ejected', {}, true],
    ['draining', { state: 'draining' }, false],
    ['maint', { state: 'maint' }, false],
    ['weight 0', { weight: 0 }, false],
    ['weight 1', { weight: 1 }, true],
    ['unknown with a health check (not yet passed its thresholds)', { health: 'unknown' }, false],
    ['unhealthy with a health check', { health: 'unhealthy' }, false],
    ['unknown without a health check', { health: 'unknown', checked: false }, true],
    ['unhealthy without a health check (a check was removed by a reload)', { health: 'unhealthy', checked: false }, false],
    ['ejected', { ejected: true }, false],
    ['ejected without a health check', { ejected: true, checked: false, health: 'unknown' }, false],
  ])('%s', (_name, over, expected) => {
    expect(isEligible({ ...base, ...over })).toBe(expected);
  });

  test('healthAllows: healthy only when checked, anything but unhealthy when not', () => {
    expect([healthAllows('healthy', true), healthAllows('unknown', true), healthAllows('unhealthy', true)]).toEqual([true, false, false]);
    expect([healthAllows('healthy', false), healthAllows('unknown', false), healthAllows('unhealthy', false)]).toEqual([true, true, false]);
  });
});
