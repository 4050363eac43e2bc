import { expect, test } from 'vitest';
import { clientAgent, steadyLoad } from '../helpers/http.js';
import type { LoadResult } from '../helpers/http.js';
import { api } from '../helpers/turnout.js';
import { startPools, until } from '../helpers/admin.js';

const POOLS = { blue: ['blue-1', 'blue-2'], green: ['green-1', 'green-2'] };
const poolOf = (r: LoadResult): string | undefined => r.backend?.split('-')[0];

test('under steady load, no request started after a flip answered 200 reaches the old pool', async () => {
  const { t } = await startPools(POOLS);
  const load = steadyLoad(t.proxyUrl, { connections: 8, maxMs: 30_000, maxRequests: 20_000 });
  let sentAt = 0;
  let answeredAt = 0;
  try {
    await until('300 requests before the flip', () => load.results.length >= 300, 12_000);
    sentAt = Date.now();
    const res = await api(t, 'POST', '/v1/services/web/flip', { to: 'green' });
    answeredAt = Date.now();
    expect(res.status).toBe(200);
    expect(res.body.service.split).toEqual({ blue: 0, green: 100 });
    await until('300 requests started after the flip', () => load.results.filter((r) => r.startedAt > answeredAt).length >= 300, 12_000);
  } finally {
    await load.stop();
  }
  const all = load.results;
  expect(all.filter((r) => r.status !== 200)).toEqual([]);
  const before = all.filter((r) => r.endedAt < sentAt);
  const after = all.filter((r) => r.startedAt > answeredAt);
  expect(before.length).toBeGreaterThanOrEqual(300);
  expect(new Set(before.map(poolOf))).toEqual(new Set(['blue']));
  expect(after.length).toBeGreaterThanOrEqual(300);
  const strays = after.filter((r) => poolOf(r) !== 'green');
  expect(strays, 'requests started after the flip answered that reached another pool').toEqual([]);
  expect(new Set(after.map((r) => r.backend))).toEqual(new Set(['green-1', 'green-2']));
});

/** Sends `n` requests over 8 connections and counts the pools that answered. */
async function countPools(url: string, n: number): Promise<{ counts: Record<string, number>; failed: LoadResult[] }> {
  // ~3 s on an idle 2-core machine; the bound leaves room for a machine busy with other work.
  const load = steadyLoad(url, { connections: 8, maxMs: 45_000, maxRequests: n, agent: clientAgent(8) });
  try {
    await until(`${n} requests answered`, () => load.results.length >= n, 45_000, 20);
  } finally {
    await load.stop();
  }
  const results = load.results;
  const counts: Record<string, number> = {};
  for (const r of results) {
    const p = poolOf(r) ?? 'none';
    counts[p] = (counts[p] ?? 0) + 1;
  }
  return { counts, failed: results.filter((r) => r.status !== 200) };
}

test('canary 10 % and 1 %: the canary pool gets its share within binomial bounds (±4 sd over 5,000 requests each)', async () => {
  const { t } = await startPools({ stable: ['stable-1', 'stable-2'], canary: ['canary-1'] });
  const n = 5000;
  for (const percent of [10, 1]) {
    const res = await api(t, 'POST', '/v1/services/web/canary', { pool: 'canary', percent });
    expect(res.body.service.split).toEqual({ stable: 100 - percent, canary: percent });
    const { counts, failed } = await countPools(t.proxyUrl, n);
    expect(failed).toEqual([]);
    expect((counts.stable ?? 0) + (counts.canary ?? 0)).toBe(n);
    const p = percent / 100;
    const mean = n * p;
    const sd = Math.sqrt(n * p * (1 - p));
    const got = counts.canary ?? 0;
    expect(Math.abs(got - mean), `canary ${percent} %: ${got} of ${n}, expected ${mean} ± ${Math.round(4 * sd)}`).toBeLessThanOrEqual(4 * sd);
  }
}, 100_000);
