import { request } from 'undici';
import type { Agent } from 'undici';
import { boundedLoops, clientAgent } from './http.js';

export interface Outcome {
  readonly i: number;
  readonly status: number;
  /** The `x-backend` header the test backends answer with. */
  readonly backend: string | undefined;
  readonly text: string;
  readonly error?: string;
}

/**
 * Sends exactly `count` requests over `connections` concurrent loops and resolves once every one has
 * answered (or failed). Bounded: requests not started by `maxMs` are skipped, and the caller's
 * length assertion then fails loudly instead of the test hanging.
 */
export async function runRequests(
  base: string,
  opts: {
    count: number;
    connections: number;
    maxMs?: number;
    path?: (i: number) => string;
    method?: string;
    body?: (i: number) => string;
    headers?: Record<string, string>;
    agent?: Agent;
  },
): Promise<Outcome[]> {
  const agent = opts.agent ?? clientAgent(opts.connections);
  const { done } = boundedLoops({ connections: opts.connections, maxMs: opts.maxMs ?? 40_000, maxRequests: opts.count }, async (i): Promise<Outcome> => {
    try {
      const res = await request(`${base}${opts.path ? opts.path(i) : '/'}`, {
        dispatcher: agent,
        method: (opts.method ?? 'GET') as 'GET',
        headers: opts.headers ?? {},
        ...(opts.body ? { body: opts.body(i) } : {}),
      });
      const text = await res.body.text();
      return { i, status: res.statusCode, backend: res.headers['x-backend'] as string | undefined, text };
    } catch (err) {
      return { i, status: 0, backend: undefined, text: '', error: (err as Error).message };
    }
  });
  return done;
}

/** How many outcomes each backend answered. */
export function countBy(outcomes: readonly Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.backend ?? `status ${o.status}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
