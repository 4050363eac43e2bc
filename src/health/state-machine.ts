import type { Health } from '../model/index.js';

/** Active-check bookkeeping for one backend: consecutive passes and failures since the last change. */
export interface CheckState {
  readonly health: Health;
  readonly passes: number;
  readonly fails: number;
}

export interface Thresholds {
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export const INITIAL_CHECK_STATE: CheckState = { health: 'unknown', passes: 0, fails: 0 };

/**
 * One probe result applied with hysteresis: `healthyThreshold` passes in a row make a backend
 * healthy, `unhealthyThreshold` failures in a row make it unhealthy. A pass resets the failure run
 * and the other way round. `changed` is true only on a transition (act only on transitions).
 */
export function observe(state: CheckState, passed: boolean, t: Thresholds): { state: CheckState; changed: boolean } {
  if (passed) {
    const passes = state.passes + 1;
    if (state.health !== 'healthy' && passes >= t.healthyThreshold) {
      return { state: { health: 'healthy', passes, fails: 0 }, changed: true };
    }
    return { state: { health: state.health, passes, fails: 0 }, changed: false };
  }
  const fails = state.fails + 1;
  if (state.health !== 'unhealthy' && fails >= t.unhealthyThreshold) {
    return { state: { health: 'unhealthy', passes: 0, fails }, changed: true };
  }
  return { state: { health: state.health, passes: 0, fails }, changed: false };
}
