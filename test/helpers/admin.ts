import { expect } from 'vitest';
import type { Turnout } from '../../src/app.js';
import { startBackend } from './backends.js';
import type { Handler, TestBackend } from './backends.js';
import { api, startTestTurnout } from './turnout.js';

/** What `api()` answers. */
export type ApiAnswer = Awaited<ReturnType<typeof api>>;

/** SPEC "Shapes": the keys of a backend (plus `drain` while draining). */
export const BACKEND_KEYS = ['effectiveWeight', 'ejected', 'health', 'id', 'inFlight', 'state', 'url', 'weight'];
/** SPEC "Shapes": a backend's `drain`. `started` is turnout's documented extension (see schemas.ts). */
export const DRAIN_KEYS = ['deadline', 'inFlight', 'startedAt'];
export const DRAIN_EXTRA_KEYS = ['started'];
export const SERVICE_KEYS = ['name', 'pools', 'split'];

const sorted = (o: object): string[] => Object.keys(o).sort();

/** A 4xx/5xx answer in the SPEC error shape with the expected status and code. */
export function expectError(res: ApiAnswer, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }, JSON.stringify(res.body)).toEqual({ status, code });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(0);
  const extra = Object.keys(res.body.error).filter((k) => !['code', 'message', 'details'].includes(k));
  expect(extra).toEqual([]);
  expect(Object.keys(res.body)).toEqual(['error']);
}

/** A backend exactly as SPEC "Shapes" says. */
export function expectBackendShape(b: Record<string, unknown>): void {
  const keys = sorted(b).filter((k) => k !== 'drain');
  expect(keys).toEqual(BACKEND_KEYS);
  expect(b).toMatchObject({
    id: expect.any(String),
    url: expect.stringMatching(/^https?:\/\//),
    weight: expect.any(Number),
    effectiveWeight: expect.any(Number),
    state: expect.stringMatching(/^(active|draining|maint)$/),
    health: expect.stringMatching(/^(unknown|healthy|unhealthy)$/),
    ejected: expect.any(Boolean),
    inFlight: expect.any(Number),
  });
  expect(Number.isInteger(b.weight)).toBe(true);
  if (b.state === 'draining') {
    const drain = b.drain as Record<string, unknown>;
    expect(drain, 'a draining backend shows drain progress').toBeDefined();
    expect(sorted(drain).filter((k) => !DRAIN_EXTRA_KEYS.includes(k))).toEqual(DRAIN_KEYS);
    expect(Number.isNaN(Date.parse(drain.startedAt as string))).toBe(false);
    expect(Number.isNaN(Date.parse(drain.deadline as string))).toBe(false);
    expect(Number.isInteger(drain.inFlight)).toBe(true);
  } else {
    expect(b.drain).toBeUndefined();
  }
}

/** A service exactly as SPEC "Shapes" says, every backend included. */
export function expectServiceShape(s: Record<string, unknown>): void {
  expect(sorted(s)).toEqual(SERVICE_KEYS);
  expect(typeof s.name).toBe('string');
  const split = s.split as Record<string, number>;
  const pools = s.pools as Record<string, { backends: Record<string, unknown>[] }>;
  expect(sorted(split)).toEqual(sorted(pools));
  expect(Math.round(Object.values(split).reduce((a, v) => a + v * 100, 0))).toBe(10_000);
  for (const pool of Object.values(pools)) {
    expect(Object.keys(pool)).toEqual(['backends']);
    for (const b of pool.backends) expectBackendShape(b);
  }
}

/** `ETag: "<revision>"`, answered with a body that carries the same revision. */
export function expectEtag(res: ApiAnswer, revision: number): void {
  expect(res.headers.get('etag')).toBe(`"${revision}"`);
}

/** The state's revision as the API reports it. */
export async function revisionOf(t: Turnout): Promise<number> {
  const r = await api(t, 'GET', '/v1/services');
  expect(r.status).toBe(200);
  return r.body.revision as number;
}

export interface BlueGreen {
  readonly t: Turnout;
  readonly backends: Readonly<Record<string, TestBackend>>;
}

/**
 * Service `web` (route `*` `/`) with pools of real backends, each answering with its id (also in
 * `X-Backend`). `pools` maps a pool to its backend ids; the split defaults to the first pool 100.
 * `opts.workers`: the process model (see PROCESS_MODELS).
 */
export async function startPools(
  pools: Readonly<Record<string, readonly string[]>>,
  service: Record<string, unknown> = {},
  extraServices: Record<string, unknown> = {},
  handler?: Handler,
  opts: { readonly workers?: number | undefined } = {},
): Promise<BlueGreen> {
  const backends: Record<string, TestBackend> = {};
  const poolDoc: Record<string, { id: string; url: string }[]> = {};
  for (const [pool, ids] of Object.entries(pools)) {
    const list: { id: string; url: string }[] = [];
    for (const id of ids) {
      const b = await startBackend(id, handler);
      backends[id] = b;
      list.push({ id, url: b.url });
    }
    poolDoc[pool] = list;
  }
  const t = await startTestTurnout(
    {
      services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: poolDoc, ...service }, ...extraServices },
    },
    { workers: opts.workers },
  );
  return { t, backends };
}

export { apiAs } from './turnout.js';

export { until } from './time.js';
