import { describe, expect, test } from 'vitest';
import { INITIAL_CHECK_STATE, observe } from '../../src/health/state-machine.js';
import type { CheckState } from '../../src/health/state-machine.js';

const T = { healthyThreshold: 2, unhealthyThreshold: 3 };

/** Feeds a sequence of probe results ("P" pass, "F" fail) and returns health after each and the transitions. */
function run(seq: string, start: CheckState = INITIAL_CHECK_STATE): { health: string[]; changes: number } {
  let s = start;
  const health: string[] = [];
  let changes = 0;
  for (const c of seq) {
    const r = observe(s, c === 'P', T);
    s = r.state;
    if (r.changed) changes++;
    health.push(s.health);
  }
  return { health, changes };
}

describe('health state machine', () => {
  test.each([
    ['unknown needs healthyThreshold passes', 'PP', ['unknown', 'healthy'], 1],
    ['unknown turns unhealthy after unhealthyThreshold failures', 'FFF', ['unknown', 'unknown', 'unhealthy'], 1],
    ['success resets the failure count', 'PPFFPFF', ['unknown', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy'], 1],
    ['failure resets the pass count', 'PFPFP', ['unknown', 'unknown', 'unknown', 'unknown', 'unknown'], 0],
    ['healthy goes unhealthy after 3 in a row', 'PPFFF', ['unknown', 'healthy', 'healthy', 'healthy', 'unhealthy'], 2],
    ['unhealthy comes back after 2 in a row', 'FFFPP', ['unknown', 'unknown', 'unhealthy', 'unhealthy', 'healthy'], 2],
    ['a flapping backend (alternating) never changes once healthy', 'PPFPFPFPFPFP', ['unknown', 'healthy', ...Array(10).fill('healthy')], 1],
    ['no transition is reported twice', 'PPPPPP', ['unknown', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy'], 1],
  ] as const)('%s', (_name, seq, health, changes) => {
    const r = run(seq);
    expect(r.health).toEqual(health);
    expect(r.changes).toBe(changes);
  });

  test('a flapping unhealthy backend stays unhealthy', () => {
    const r = run('FFFPFPFPFPF');
    expect(r.health.slice(2).every((h) => h === 'unhealthy')).toBe(true);
    expect(r.changes).toBe(1);
  });
});
