/**
 * The latency bounds every histogram of the process uses, in one place, and the classes a worker
 * groups its answers' durations by before it reports them (durationClass): two durations of one
 * class fall in the same bucket of every histogram, and so does their mean, so the supervisor can
 * record a group's count at its mean and every histogram reads as if each answer came alone.
 */

/** Rolling windows' latency bucket upper bounds in ms: 0.25 ms … ~65 s, about 19 % apart. */
export const WINDOW_BOUNDS_MS: readonly number[] = (() => {
  const out: number[] = [];
  for (let v = 0.25; v < 70_000; v *= 1.19) out.push(Math.round(v * 1000) / 1000);
  return out;
})();

/** Upper bounds of turnout_request_duration_seconds. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Upper bounds of turnout_hold_wait_seconds. */
export const HOLD_WAIT_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

/** Every bound above, in ms, sorted and unique: the class edges. */
const CLASS_BOUNDS_MS: readonly number[] = [...new Set([...WINDOW_BOUNDS_MS, ...DURATION_BUCKETS.map((s) => s * 1000), ...HOLD_WAIT_BUCKETS.map((s) => s * 1000)])].sort((a, b) => a - b);

/** Index of the first bound >= `ms` in `bounds` (bounds.length when above all): a bucket index. */
export function boundIndex(bounds: readonly number[], ms: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= (bounds[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The class of a duration (ms): durations of one class share a bucket in every histogram above. */
export function durationClass(ms: number): number {
  return boundIndex(CLASS_BOUNDS_MS, ms);
}
