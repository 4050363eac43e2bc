import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { get } from '../helpers/http.js';
import { countBy, runRequests } from '../helpers/load.js';
import { startTestTurnout } from '../helpers/turnout.js';

/** Asserts `k` successes out of `n` with probability `p` lies within ±4 standard deviations (a false alarm in ~1 of 16,000 runs). */
function expectBinomial(k: number, n: number, p: number): void {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(k - mean), `${k} of ${n} with p=${p}: mean ${mean}, 4 sd = ${(4 * sd).toFixed(1)}`).toBeLessThanOrEqual(4 * sd);
}

test('split 70/30 over 4,000 requests: each pool within ±4 standard deviations of its share', async () => {
  const blue = await startBackend('blue-1');
  const green = await startBackend('green-1');
  const t = await startTestTurnout(
    webService({ blue: [{ id: 'blue-1', url: blue.url }], green: [{ id: 'green-1', url: green.url }] }, { split: { blue: 70, green: 30 } }),
  );
  const results = await runRequests(t.proxyUrl, { count: 4000, connections: 8, path: (i) => `/s/${i}` });
  expect(results).toHaveLength(4000);
  const counts = countBy(results);
  expect((counts['blue-1'] ?? 0) + (counts['green-1'] ?? 0)).toBe(4000);
  expectBinomial(counts['blue-1'] ?? 0, 4000, 0.7);
  expectBinomial(counts['green-1'] ?? 0, 4000, 0.3);
});

test('a pool with no eligible backend spills its share to the other pools with a share, in their proportions', async () => {
  const a = await startBackend('a-1');
  const b = await startBackend('b-1');
  const idle = await startBackend('d-1');
  const t = await startTestTurnout(
    webService(
      {
        a: [{ id: 'a-1', url: a.url }],
        b: [{ id: 'b-1', url: b.url }],
        // empty, and one whose only backend takes no new requests (weight 0)
        c: [],
        w: [{ id: 'w-1', url: idle.url, weight: 0 }],
        // eligible but with no share: must take nothing without failover: any
        d: [{ id: 'd-1', url: idle.url }],
      },
      { split: { a: 30, b: 20, c: 25, w: 25, d: 0 } },
    ),
  );
  const results = await runRequests(t.proxyUrl, { count: 1000, connections: 8 });
  const counts = countBy(results);
  expect(Object.keys(counts).sort()).toEqual(['a-1', 'b-1']);
  expect((counts['a-1'] ?? 0) + (counts['b-1'] ?? 0)).toBe(1000);
  // 30 : 20 of what is left: a gets 60 %.
  expectBinomial(counts['a-1'] ?? 0, 1000, 0.6);
  expect(idle.hits).toBe(0);
});

test('every pool with a share empty: 503 no_backend, unless failover: any sends it to a pool without a share', async () => {
  const g = await startBackend('green-1');
  const pools = { blue: [], green: [{ id: 'green-1', url: g.url }] };
  const strict = await startTestTurnout(webService(pools, { split: { blue: 100, green: 0 } }));
  const res = await get(`${strict.proxyUrl}/`);
  expect(res.status).toBe(503);
  expect(res.headers['x-turnout-error']).toBe('no_backend');

  const any = await startTestTurnout(webService(pools, { split: { blue: 100, green: 0 }, failover: 'any' }));
  const results = await runRequests(any.proxyUrl, { count: 20, connections: 2 });
  expect(countBy(results)).toEqual({ 'green-1': 20 });
});
