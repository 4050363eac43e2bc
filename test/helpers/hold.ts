import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { Agent } from 'undici';
import { onTestFinished } from 'vitest';
import { api } from './api.js';
import type { AdminAt } from './api.js';
import { boundedLoops, clientAgent } from './http.js';

// Helpers for the hold tests (SPEC "Hold and limits"): an app that stops the way a real one does,
// mixed load with latencies, and reading hold events and metrics.

export interface StoppableApp {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly server: Server;
  /** Requests in flight now, the most ever in flight at once, and the paths in arrival order. */
  readonly stats: { inFlight: number; maxInFlight: number; served: number; paths: string[] };
  /**
   * Stops as a well-behaved app does: the listener closes, idle keep-alive connections close,
   * requests in flight finish (answered with `Connection: close`, so their connections end too).
   * Resolves once every connection is gone.
   */
  stop(): Promise<void>;
}

/**
 * An HTTP app on 127.0.0.1:`port` (0: any) answering 200 `{"app": id}` with `X-Backend: id` after
 * `delayMs()` ms (default at once), reading any body first. Closed after the test.
 */
export async function startStoppableApp(id: string, port = 0, opts: { delayMs?: () => number } = {}): Promise<StoppableApp> {
  const stats = { inFlight: 0, maxInFlight: 0, served: 0, paths: [] as string[] };
  let stopping = false;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    stats.paths.push(req.url ?? '/');
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      stats.inFlight--;
    };
    res.on('close', end);
    req.resume();
    req.on('end', () => {
      const answer = (): void => {
        const body = JSON.stringify({ app: id });
        const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': id };
        // A stopping app lets this request finish but keeps no connection open after it.
        if (stopping) headers.connection = 'close';
        // Counted out before the answer leaves: the proxy sees the end only after this.
        end();
        stats.served++;
        res.writeHead(200, headers);
        res.end(body);
      };
      const ms = opts.delayMs?.() ?? 0;
      if (ms > 0) setTimeout(answer, ms);
      else answer();
    });
  };
  const server = http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    if (closed !== undefined) return closed;
    stopping = true;
    closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    return closed;
  };
  onTestFinished(async () => {
    server.closeAllConnections();
    await stop();
  });
  return { id, port: bound, url: `http://127.0.0.1:${bound}`, server, stats, stop };
}

export interface LoadOutcome {
  readonly i: number;
  readonly method: 'GET' | 'POST';
  readonly status: number;
  readonly startedAt: number;
  readonly ms: number;
  readonly error?: string;
  readonly turnoutError?: string;
}

/**
 * Steady load on `connections` loops: GETs, and every `postEvery`-th request a POST with a small
 * body (0: none); paths `/r/<i>` unless `path` says otherwise. Bounded by `maxRequests` and `maxMs`; `stop()` ends it and returns every outcome.
 */
export function holdLoad(
  base: string,
  opts: { connections: number; maxMs: number; maxRequests: number; postEvery?: number; path?: (i: number) => string; agent?: Agent },
): { stop: () => Promise<LoadOutcome[]>; outcomes: LoadOutcome[] } {
  const agent = opts.agent ?? clientAgent(opts.connections);
  const postEvery = opts.postEvery ?? 0;
  const { stop, results } = boundedLoops(opts, async (i): Promise<LoadOutcome> => {
    const method = postEvery > 0 && i % postEvery === 0 ? 'POST' : 'GET';
    const startedAt = performance.now();
    try {
      const res = await request(`${base}${opts.path?.(i) ?? `/r/${i}`}`, {
        dispatcher: agent,
        method,
        ...(method === 'POST' ? { body: `order=${i}&${'x'.repeat(100 + (i % 400))}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
      });
      await res.body.text();
      const te = res.headers['x-turnout-error'];
      return { i, method, status: res.statusCode, startedAt, ms: performance.now() - startedAt, ...(typeof te === 'string' ? { turnoutError: te } : {}) };
    } catch (err) {
      return { i, method, status: 0, startedAt, ms: performance.now() - startedAt, error: (err as Error).message };
    }
  });
  return { outcomes: results, stop };
}

/** The q-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** Failed outcomes summed up by what they got: "502 upstream_error", "error: other side closed". */
export function failureSummary(outcomes: readonly LoadOutcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.status === 200) continue;
    const k = o.status === 0 ? `${o.method} error: ${o.error}` : `${o.method} ${o.status} ${o.turnoutError ?? ''}`.trim();
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** The service's event types, oldest first. */
export async function eventTypes(t: AdminAt, service = 'web'): Promise<string[]> {
  const res = await api(t, 'GET', `/v1/services/${service}/events`);
  if (res.status !== 200) throw new Error(`GET events answered ${res.status}`);
  return (res.body.events as { type: string }[]).map((e) => e.type).reverse();
}

/** One sample of GET /metrics (admin listener), or undefined when the series is absent. */
export async function metricValue(t: AdminAt, series: string): Promise<number | undefined> {
  const res = await fetch(`${t.adminUrl}/metrics`);
  const text = await res.text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
