/**
 * Rolling per-second windows of request counts, errors and a latency histogram: what the live
 * stream, the dashboard and rollout gates read. Pure data structure; time (epoch ms) is passed in.
 * Recording is O(1) with no allocation; quantiles merge at most `seconds` buckets.
 */
import { boundIndex, WINDOW_BOUNDS_MS } from './buckets.js';

const BOUNDS = WINDOW_BOUNDS_MS;
const NB = BOUNDS.length + 1;

function bucketOf(ms: number): number {
  return boundIndex(BOUNDS, ms);
}

export interface WindowSummary {
  /** Requests in the window. */
  readonly requests: number;
  /** 5xx answers and proxy errors. */
  readonly errors: number;
  readonly rps: number;
  readonly errorRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export class RollingWindow {
  private readonly seconds: number;
  private readonly stamps: Float64Array; // second index of each slot
  private readonly counts: Uint32Array;
  private readonly errors: Uint32Array;
  /** Requests that came over HTTP/2. */
  private readonly h2: Uint32Array;
  private readonly hist: Uint32Array; // seconds × NB

  constructor(seconds = 60) {
    this.seconds = seconds;
    this.stamps = new Float64Array(seconds).fill(-1);
    this.counts = new Uint32Array(seconds);
    this.errors = new Uint32Array(seconds);
    this.h2 = new Uint32Array(seconds);
    this.hist = new Uint32Array(seconds * NB);
  }

  private slot(nowMs: number): number {
    const sec = Math.floor(nowMs / 1000);
    const i = sec % this.seconds;
    if (this.stamps[i] !== sec) {
      this.stamps[i] = sec;
      this.counts[i] = 0;
      this.errors[i] = 0;
      this.h2[i] = 0;
      this.hist.fill(0, i * NB, (i + 1) * NB);
    }
    return i;
  }

  /** `n` answers of `durationMs` each (a worker's report groups answers of one duration class). */
  record(nowMs: number, durationMs: number, error: boolean, n = 1, h2 = false): void {
    const i = this.slot(nowMs);
    this.counts[i] = (this.counts[i] as number) + n;
    if (error) this.errors[i] = (this.errors[i] as number) + n;
    if (h2) this.h2[i] = (this.h2[i] as number) + n;
    const b = i * NB + bucketOf(durationMs);
    this.hist[b] = (this.hist[b] as number) + n;
  }

  /** Requests over HTTP/2 in the last `windowSec` seconds ending at `nowMs` (as summary counts). */
  h2Requests(nowMs: number, windowSec: number): number {
    const sec = Math.floor(nowMs / 1000);
    let n = 0;
    for (let k = 0; k < Math.min(windowSec, this.seconds); k++) {
      const s = sec - k;
      const i = ((s % this.seconds) + this.seconds) % this.seconds;
      if (this.stamps[i] === s) n += this.h2[i] as number;
    }
    return n;
  }

  /**
   * Summary of the last `windowSec` complete-or-current seconds ending at `nowMs`
   * (the current second included).
   */
  summary(nowMs: number, windowSec: number): WindowSummary {
    const sec = Math.floor(nowMs / 1000);
    const span = Math.min(windowSec, this.seconds);
    let requests = 0;
    let errors = 0;
    const merged = new Uint32Array(NB);
    for (let k = 0; k < span; k++) {
      const s = sec - k;
      const i = ((s % this.seconds) + this.seconds) % this.seconds;
      if (this.stamps[i] !== s) continue;
      requests += this.counts[i] as number;
      errors += this.errors[i] as number;
      for (let b = 0; b < NB; b++) merged[b] = (merged[b] as number) + (this.hist[i * NB + b] as number);
    }
    return {
      requests,
      errors,
      rps: requests / span,
      errorRate: requests === 0 ? 0 : errors / requests,
      p50Ms: quantile(merged, requests, 0.5),
      p99Ms: quantile(merged, requests, 0.99),
    };
  }
}

function quantile(hist: Uint32Array, total: number, q: number): number {
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let b = 0; b < NB; b++) {
    seen += hist[b] as number;
    if (seen >= rank) return b < BOUNDS.length ? (BOUNDS[b] as number) : (BOUNDS[BOUNDS.length - 1] as number);
  }
  return BOUNDS[BOUNDS.length - 1] as number;
}
