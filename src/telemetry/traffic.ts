import { ByPool } from './by-pool.js';
import { RollingWindow } from './window.js';
import type { WindowSummary } from './window.js';

/** Seconds a pool's window keeps: the longest a rollout gate looks back. */
const POOL_WINDOW_SECONDS = 60;
/** Seconds a backend's window keeps: enough for the live stream's figures. */
const BACKEND_WINDOW_SECONDS = 15;

const EMPTY: WindowSummary = { requests: 0, errors: 0, rps: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 };

interface PoolTraffic {
  readonly window: RollingWindow;
  /** Cumulative counts since start, for gates that compare two moments. */
  requests: number;
  errors: number;
}

/**
 * Recent traffic per backend and per pool, for the live stream, the dashboard, the rollout gates
 * and the fleet report. Plain data: the caller passes the time of each record and read.
 */
export class TrafficWindows {
  /** Each backend's window, with its pool's entry at hand (a request does one lookup). */
  private readonly backends = new Map<object, { readonly window: RollingWindow; readonly pool: PoolTraffic }>();
  private readonly pools = new ByPool<PoolTraffic>(() => ({ window: new RollingWindow(POOL_WINDOW_SECONDS), requests: 0, errors: 0 }));

  /** `n` answers to clients (one, or a worker's group): from a backend (`backendKey`), or from the proxy itself (undefined). */
  record(service: string, pool: string, backendKey: object | undefined, nowMs: number, durationMs: number, error: boolean, n = 1, h2 = false): void {
    let p: PoolTraffic;
    if (backendKey === undefined) p = this.pools.at(service, pool);
    else {
      let b = this.backends.get(backendKey);
      if (b === undefined) {
        b = { window: new RollingWindow(BACKEND_WINDOW_SECONDS), pool: this.pools.at(service, pool) };
        this.backends.set(backendKey, b);
      }
      b.window.record(nowMs, durationMs, error, n);
      p = b.pool;
    }
    p.window.record(nowMs, durationMs, error, n, h2);
    p.requests += n;
    if (error) p.errors += n;
  }

  /** A backend left: its window goes (its pool's counts stay). */
  forget(backendKey: object): void {
    this.backends.delete(backendKey);
  }

  /** Of a pool's requests in the window, those that came over HTTP/2. */
  poolH2Requests(service: string, pool: string, nowMs: number, seconds: number): number {
    return this.pools.get(service, pool)?.window.h2Requests(nowMs, seconds) ?? 0;
  }

  backendWindow(backendKey: object, nowMs: number, seconds: number): WindowSummary | undefined {
    return this.backends.get(backendKey)?.window.summary(nowMs, seconds);
  }

  poolWindow(service: string, pool: string, nowMs: number, seconds: number): WindowSummary {
    return this.pools.get(service, pool)?.window.summary(nowMs, seconds) ?? EMPTY;
  }

  /** Cumulative requests and errors of a pool since start (gates diff two readings). */
  poolTotals(service: string, pool: string): { requests: number; errors: number } {
    const p = this.pools.get(service, pool);
    return { requests: p?.requests ?? 0, errors: p?.errors ?? 0 };
  }

  /** Every pool's cumulative counts and recent p99, keyed `service/pool` (reported to the fleet). */
  allPoolCounts(nowMs: number): Record<string, { requests: number; errors: number; p99Ms: number }> {
    const out: Record<string, { requests: number; errors: number; p99Ms: number }> = {};
    for (const [svc, pool, p] of this.pools.entries()) {
      out[`${svc}/${pool}`] = { requests: p.requests, errors: p.errors, p99Ms: p.window.summary(nowMs, POOL_WINDOW_SECONDS).p99Ms };
    }
    return out;
  }
}
