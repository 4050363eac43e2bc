/** Smallest share of its weight a backend gets at the start of its slow-start window. */
export const SLOW_START_FLOOR = 0.01;

/**
 * Effective weight during slow start: ramps linearly from 1 % to 100 % of `weight` over
 * `windowMs` after `eligibleSinceMs`. Pure; `nowMs` injected.
 */
export function slowStartWeight(weight: number, eligibleSinceMs: number, nowMs: number, windowMs: number): number {
  if (windowMs <= 0 || weight <= 0) return weight;
  const elapsed = nowMs - eligibleSinceMs;
  if (elapsed >= windowMs) return weight;
  const f = Math.max(SLOW_START_FLOOR, elapsed / windowMs);
  return weight * f;
}

/** True while the backend is still ramping (the table must be rebuilt as time passes). */
export function inSlowStart(eligibleSinceMs: number, nowMs: number, windowMs: number): boolean {
  return windowMs > 0 && nowMs - eligibleSinceMs < windowMs;
}
