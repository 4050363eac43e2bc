/**
 * One rollout check judged: the canary's readings against the absolute gates, the stable pool
 * (baseline), PromQL metric readings and `rollout` webhook answers; then what the tolerance
 * (`failureThreshold`) makes of it. Pure: the readings are gathered by the controller's ports.
 */

/** Counts of one pool over the check's window. */
export interface PoolReading {
  readonly requests: number;
  readonly errors: number;
  /** ms */
  readonly p99Ms: number;
}

/** A PromQL gate's outcome: a number, or why there is none. */
export interface MetricReading {
  readonly name: string;
  readonly value?: number;
  readonly error?: string;
  readonly min?: number;
  readonly max?: number;
}

/** A webhook's answer: the HTTP status, or the failure (timeout, refused). */
export interface WebhookAnswer {
  readonly name: string;
  readonly type: string;
  readonly status?: number;
  readonly error?: string;
  readonly ms: number;
}

export interface CheckReadings {
  readonly canary: PoolReading;
  readonly stable?: PoolReading;
  readonly metrics?: readonly MetricReading[];
  readonly webhooks?: readonly WebhookAnswer[];
}

export interface CheckGates {
  /** Absolute error rate of the canary (no limit when absent). */
  readonly maxErrorRate?: number;
  /** ms (no limit when absent). */
  readonly maxP99Ms?: number;
  /** Requests each pool needs in the window before the baseline applies (default 1). */
  readonly minRequests: number;
  readonly baseline?: { readonly maxErrorRateIncrease?: number; readonly maxP99Ratio?: number };
}

/** p99s below this count as this much in a ratio, so sub-millisecond noise never fails a gate. */
export const P99_RATIO_FLOOR_MS = 5;

const pct = (v: number): string => `${Math.round(v * 10_000) / 100}%`;
const rate = (p: PoolReading): number => (p.requests === 0 ? 0 : p.errors / p.requests);

export const webhookOk = (a: WebhookAnswer): boolean => a.status !== undefined && a.status >= 200 && a.status < 300;

/** The reasons a check fails (none: it passed). `pool`/`stablePool` name the pools in the reasons. */
export function judgeCheck(g: CheckGates, c: CheckReadings, pool: string, stablePool: string): string[] {
  const out: string[] = [];
  const cr = rate(c.canary);
  if (g.maxErrorRate !== undefined && cr > g.maxErrorRate) {
    out.push(`error rate ${pct(cr)} (${c.canary.errors}/${c.canary.requests}) above maxErrorRate ${pct(g.maxErrorRate)}`);
  }
  if (g.maxP99Ms !== undefined && c.canary.p99Ms > g.maxP99Ms) out.push(`p99 ${c.canary.p99Ms}ms above maxP99Ms ${g.maxP99Ms}ms`);
  const s = c.stable;
  // Once the stable pool has no traffic (the canary at 100 %), only the absolute gates apply.
  if (g.baseline !== undefined && s !== undefined && s.requests >= Math.max(1, g.minRequests) && c.canary.requests >= g.minRequests) {
    const sr = rate(s);
    const inc = g.baseline.maxErrorRateIncrease;
    if (inc !== undefined && cr - sr > inc + 1e-12) {
      out.push(`error rate ${pct(cr)} of ${pool} vs ${pct(sr)} of ${stablePool}: increase ${pct(cr - sr)} above maxErrorRateIncrease ${pct(inc)}`);
    }
    const ratioMax = g.baseline.maxP99Ratio;
    if (ratioMax !== undefined) {
      const ratio = Math.max(c.canary.p99Ms, P99_RATIO_FLOOR_MS) / Math.max(s.p99Ms, P99_RATIO_FLOOR_MS);
      if (ratio > ratioMax) {
        out.push(`p99 ${c.canary.p99Ms}ms of ${pool} vs ${s.p99Ms}ms of ${stablePool}: ratio ${Math.round(ratio * 100) / 100} above maxP99Ratio ${ratioMax}`);
      }
    }
  }
  for (const m of c.metrics ?? []) {
    if (m.value === undefined || !Number.isFinite(m.value)) out.push(`metric "${m.name}": ${m.error ?? 'no number'}`);
    else if (m.min !== undefined && m.value < m.min) out.push(`metric "${m.name}" = ${m.value} below min ${m.min}`);
    else if (m.max !== undefined && m.value > m.max) out.push(`metric "${m.name}" = ${m.value} above max ${m.max}`);
  }
  for (const w of c.webhooks ?? []) {
    if (!webhookOk(w)) out.push(`webhook "${w.name}" (${w.type}) ${w.status !== undefined ? `answered ${w.status}` : `failed: ${w.error ?? 'no answer'}`}`);
  }
  return out;
}

export type Tolerance =
  | { readonly kind: 'passed'; readonly failures: 0 }
  | { readonly kind: 'held'; readonly failures: number }
  | { readonly kind: 'rollback'; readonly failures: number };

/** `failureThreshold` failed checks in a row roll back; a pass resets the count; one under it holds the step. */
export function tolerate(previousFailures: number, failed: boolean, failureThreshold: number): Tolerance {
  if (!failed) return { kind: 'passed', failures: 0 };
  const failures = previousFailures + 1;
  return failures >= Math.max(1, failureThreshold) ? { kind: 'rollback', failures } : { kind: 'held', failures };
}
