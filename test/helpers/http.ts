import { Agent, request } from 'undici';
import { onTestFinished } from 'vitest';

/** An undici agent for the test's client side, destroyed after the test. */
export function clientAgent(connections = 16): Agent {
  const agent = new Agent({ connections, keepAliveTimeout: 10_000 });
  onTestFinished(() => agent.destroy().catch(() => undefined));
  return agent;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export async function get(url: string, opts: { agent?: Agent; headers?: Record<string, string>; method?: string; body?: string } = {}): Promise<Answer> {
  const res = await request(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers ?? {},
    ...(opts.agent ? { dispatcher: opts.agent } : {}),
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

/**
 * `connections` loops, each calling `one(i)` (i counts every call) until `stop()`, `maxMs` or
 * `maxRequests`; `one` records its own outcome (it must not throw). The loop the load helpers share.
 */
export function boundedLoops<T>(
  opts: { connections: number; maxMs: number; maxRequests: number },
  one: (i: number) => Promise<T>,
): { stop: () => Promise<T[]>; done: Promise<T[]>; results: T[] } {
  const results: T[] = [];
  let running = true;
  let n = 0;
  const deadline = Date.now() + opts.maxMs;
  const loop = async (): Promise<void> => {
    while (running && Date.now() < deadline && n < opts.maxRequests) results.push(await one(n++));
  };
  const all = Promise.all(Array.from({ length: opts.connections }, () => loop())).then(() => results);
  return {
    results,
    /** Resolves once every loop ended by itself (count or time reached). */
    done: all,
    stop() {
      running = false;
      return all;
    },
  };
}

/**
 * Runs a steady load: `connections` loops sending GETs until `stop()` (bounded by `maxMs` and
 * `maxRequests`). Returns the status (or error) of every request with its start time.
 */
export function steadyLoad(
  url: string,
  opts: {
    connections: number;
    maxMs: number;
    maxRequests?: number;
    path?: (i: number) => string;
    agent?: Agent;
    /** Each request on a new connection (closed after its answer). */
    newConnections?: boolean;
  },
): { stop: () => Promise<LoadResult[]>; results: LoadResult[] } {
  const agent = opts.agent ?? clientAgent(opts.connections);
  const { stop, results } = boundedLoops({ connections: opts.connections, maxMs: opts.maxMs, maxRequests: opts.maxRequests ?? 1_000_000 }, async (i): Promise<LoadResult> => {
    const startedAt = Date.now();
    try {
      const res = await request(`${url}${opts.path ? opts.path(i) : '/'}`, { dispatcher: agent, reset: opts.newConnections === true });
      const text = await res.body.text();
      return { startedAt, endedAt: Date.now(), status: res.statusCode, backend: res.headers['x-backend'] as string | undefined, text };
    } catch (err) {
      return { startedAt, endedAt: Date.now(), status: 0, error: (err as Error).message };
    }
  });
  return { stop, results };
}

export interface LoadResult {
  startedAt: number;
  endedAt: number;
  status: number;
  backend?: string | undefined;
  text?: string;
  error?: string;
}
