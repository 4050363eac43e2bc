import { describe, expect, test } from 'vitest';
import { clientAgent, get } from '../helpers/http.js';
import { PROCESS_MODELS, READ_TOKEN, api, fleetWorkers } from '../helpers/turnout.js';
import type { ApiAnswer } from '../helpers/admin.js';
import { apiAs, expectError, expectEtag, expectServiceShape, startPools, until } from '../helpers/admin.js';

// `dark` has no backend: the eligible-backend rule (409 unless ?force=true) is about it.
const POOLS = { blue: ['blue-1'], green: ['green-1'], dark: [] };

/** A write on a service: exactly {revision, service}, the ETag of that revision, one more than before. */
function expectServiceWrite(res: ApiAnswer, revisionBefore: number, split: Record<string, number>): void {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(Object.keys(res.body).sort()).toEqual(['revision', 'service']);
  expect(res.body.revision).toBe(revisionBefore + 1);
  expectEtag(res, revisionBefore + 1);
  expectServiceShape(res.body.service);
  expect(res.body.service.split).toEqual(split);
}

async function state(t: Parameters<typeof api>[0]): Promise<{ services: unknown; history: unknown; revision: number }> {
  const s = await api(t, 'GET', '/v1/services');
  const h = await api(t, 'GET', '/v1/services/web/history');
  return { services: s.body, history: h.body.history, revision: s.body.revision };
}

test('PUT split sets the split (missing pools 0, two decimals), raises the revision by one and is what GET then shows', async () => {
  const { t } = await startPools(POOLS);
  const a = await api(t, 'PUT', '/v1/services/web/split', { split: { blue: 99.5, green: 0.5 } });
  expectServiceWrite(a, 1, { blue: 99.5, green: 0.5, dark: 0 });
  const b = await api(t, 'PUT', '/v1/services/web/split', { split: { blue: 33.33, green: 66.67, dark: 0 } });
  expectServiceWrite(b, 2, { blue: 33.33, green: 66.67, dark: 0 });
  const g = await api(t, 'GET', '/v1/services/web');
  expectEtag(g, 3);
  expect(g.body).toEqual({ revision: 3, service: b.body.service });
});

test('PUT split: 409 conflict for a share on a pool with no eligible backend, accepted with ?force=true; 404 unknown service; 400 bad split', async () => {
  const { t } = await startPools(POOLS);
  const refused = await api(t, 'PUT', '/v1/services/web/split', { split: { blue: 50, dark: 50 } });
  expectError(refused, 409, 'conflict');
  expect(refused.body.error.message).toContain('dark');
  expect(refused.body.error.details).toEqual({ pools: ['dark'] });
  // A pool whose only backend is in maintenance has no eligible backend either.
  expect((await api(t, 'PATCH', '/v1/services/web/pools/green/backends/green-1', { state: 'maint' })).status).toBe(200);
  expectError(await api(t, 'PUT', '/v1/services/web/split', { split: { blue: 90, green: 10 } }), 409, 'conflict');

  const forced = await api(t, 'PUT', '/v1/services/web/split?force=true', { split: { blue: 50, dark: 50 } });
  expectServiceWrite(forced, 2, { blue: 50, green: 0, dark: 50 });

  expectError(await api(t, 'PUT', '/v1/services/nope/split', { split: { blue: 100 } }), 404, 'not_found');
  expectError(await api(t, 'PUT', '/v1/services/web/split', { split: { blue: 60, green: 30 } }), 400, 'invalid_request');
  expect((await state(t)).revision).toBe(3);
});

test('?dryRun=true answers the would-be state and changes nothing (split, flip, canary, rollback)', async () => {
  const { t } = await startPools(POOLS);
  expect((await api(t, 'POST', '/v1/services/web/canary', { pool: 'green', percent: 20 })).status).toBe(200);
  const before = await state(t);
  const calls: [string, string, unknown, Record<string, number>][] = [
    ['PUT', '/v1/services/web/split?dryRun=true', { split: { blue: 10, green: 90 } }, { blue: 10, green: 90, dark: 0 }],
    ['POST', '/v1/services/web/flip?dryRun=true', { to: 'green' }, { blue: 0, green: 100, dark: 0 }],
    ['POST', '/v1/services/web/canary?dryRun=true', { pool: 'green', percent: 5 }, { blue: 95, green: 5, dark: 0 }],
    ['POST', '/v1/services/web/rollback?dryRun=true', undefined, { blue: 100, green: 0, dark: 0 }],
    ['POST', '/v1/services/web/flip?dryRun=1&force=true', { to: 'dark' }, { blue: 0, green: 0, dark: 100 }],
  ];
  for (const [method, path, body, split] of calls) {
    const res = await api(t, method, path, body);
    expect(res.status, `${method} ${path} ${JSON.stringify(res.body)}`).toBe(200);
    expect(res.body.dryRun).toBe(true);
    // The state it would produce: its revision would be the next one; the ETag stays the current one.
    expect(res.body.revision).toBe(before.revision + 1);
    expectEtag(res, before.revision);
    expectServiceShape(res.body.service);
    expect(res.body.service.split).toEqual(split);
  }
  // Still refused the same way when the real call would be.
  expectError(await api(t, 'POST', '/v1/services/web/flip?dryRun=true', { to: 'dark' }), 409, 'conflict');
  expect(await state(t)).toEqual(before);
});

test('If-Match: the current revision (also as W/ or *) is accepted; a stale one gets 412 revision_mismatch and changes nothing', async () => {
  const { t } = await startPools(POOLS);
  const g = await api(t, 'GET', '/v1/services/web');
  const etag = g.headers.get('etag') as string;
  expect(etag).toBe('"1"');
  const ok = await api(t, 'POST', '/v1/services/web/flip', { to: 'green' }, { 'if-match': etag });
  expectServiceWrite(ok, 1, { blue: 0, green: 100, dark: 0 });

  const stale = await api(t, 'POST', '/v1/services/web/flip', { to: 'blue' }, { 'if-match': etag });
  expectError(stale, 412, 'revision_mismatch');
  expect(stale.body.error.details).toEqual({ expected: 1, actual: 2 });
  expect((await state(t)).revision).toBe(2);

  expectServiceWrite(await api(t, 'POST', '/v1/services/web/flip', { to: 'blue' }, { 'if-match': 'W/"2"' }), 2, { blue: 100, green: 0, dark: 0 });
  expectServiceWrite(await api(t, 'POST', '/v1/services/web/flip', { to: 'green' }, { 'if-match': '*' }), 3, { blue: 0, green: 100, dark: 0 });
  // The ETag of a write is the If-Match of the next one.
  const w = await api(t, 'PUT', '/v1/services/web/split', { split: { blue: 50, green: 50 } }, { 'if-match': '"4"' });
  expectServiceWrite(w, 4, { blue: 50, green: 50, dark: 0 });
  expectServiceWrite(await api(t, 'PUT', '/v1/services/web/split', { split: { green: 100 } }, { 'if-match': w.headers.get('etag') as string }), 5, {
    blue: 0,
    green: 100,
    dark: 0,
  });
});

// The other tests here see only the admin API and the store, which the supervisor runs in both
// process models; these two also see the data plane after a write, which workers serve.
describe.each(PROCESS_MODELS)('flip ($name)', ({ workers }) => {
  test('POST flip: 100 to the pool; 404 unknown pool or service; 409 for an empty pool unless ?force=true; 403 with a read token', async () => {
    const { t } = await startPools(POOLS, {}, {}, undefined, { workers });
    expectServiceWrite(await api(t, 'POST', '/v1/services/web/flip', { to: 'green' }), 1, { blue: 0, green: 100, dark: 0 });
    // Flipping to where it already is is still a recorded change.
    expectServiceWrite(await api(t, 'POST', '/v1/services/web/flip', { to: 'green' }), 2, { blue: 0, green: 100, dark: 0 });
    expectError(await api(t, 'POST', '/v1/services/web/flip', { to: 'purple' }), 404, 'not_found');
    expectError(await api(t, 'POST', '/v1/services/nope/flip', { to: 'green' }), 404, 'not_found');
    expectError(await api(t, 'POST', '/v1/services/web/flip', { to: 'dark' }), 409, 'conflict');
    expectError(await apiAs(t, READ_TOKEN, 'POST', '/v1/services/web/flip', { to: 'blue' }), 403, 'forbidden');
    expectServiceWrite(await api(t, 'POST', '/v1/services/web/flip?force=true', { to: 'dark' }), 3, { blue: 0, green: 0, dark: 100 });
    // Nothing can serve now: the proxy says so itself.
    if (workers !== undefined) {
      // Every worker applied the write before it answered: a connection to each says so too. With a
      // socket per worker the kernel picks the worker: new connections until each has had one.
      const answers: (string | undefined)[] = [];
      for (let i = 0; i < 32 && !(await fleetWorkers(t)).every((w) => w.connections.total > 0); i++) {
        answers.push((await get(`${t.proxyUrl}/`, { agent: clientAgent(1) })).headers['x-turnout-error'] as string | undefined);
      }
      expect(answers.length).toBeGreaterThanOrEqual(workers);
      expect(answers).toEqual(Array<string>(answers.length).fill('no_backend'));
      expect((await fleetWorkers(t)).every((w) => w.connections.total > 0)).toBe(true);
    }
    const r = await get(`${t.proxyUrl}/`);
    expect(r.status).toBe(503);
    expect(r.headers['x-turnout-error']).toBe('no_backend');
  });

  test('POST flip ?wait=drained answers once the pool that lost traffic has nothing in flight', async () => {
    const { t } = await startPools(POOLS, {}, {}, undefined, { workers });
    const slowSentAt = Date.now();
    const slow = get(`${t.proxyUrl}/slow?ms=1000`);
    await until('the slow request is in flight on blue', async () => {
      const s = await api(t, 'GET', '/v1/services/web/pools/blue/backends/blue-1');
      return s.body.backend.inFlight === 1;
    });
    const res = await api(t, 'POST', '/v1/services/web/flip?wait=drained', { to: 'green' });
    const answeredAt = Date.now();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ revision: 2, drained: true, inFlight: 0, service: { split: { blue: 0, green: 100, dark: 0 } } });
    expectEtag(res, 2);
    const s = await slow;
    expect(s.status).toBe(200);
    // The blue backend answered 1000 ms after the request was sent; the flip waited for that.
    expect(answeredAt - slowSentAt).toBeGreaterThanOrEqual(990);
    // With nothing in flight it answers at once.
    const again = await api(t, 'POST', '/v1/services/web/flip?wait=drained', { to: 'blue' });
    expect(again.body).toMatchObject({ revision: 3, drained: true, inFlight: 0 });
  });
});

test('POST canary gives the pool its share and the rest to the largest other pool; two decimals; errors', async () => {
  const { t } = await startPools(
    { blue: ['blue-1'], green: ['green-1'], canary: ['canary-1'], dark: [] },
    { split: { blue: 40, green: 60 } },
    { solo: { routes: [{ host: '*', pathPrefix: '/solo' }], pools: { main: [{ id: 'solo-1', url: 'http://127.0.0.1:1' }] } } },
  );
  const c = await api(t, 'POST', '/v1/services/web/canary', { pool: 'canary', percent: 10 });
  expectServiceWrite(c, 1, { blue: 0, green: 90, canary: 10, dark: 0 });
  expectServiceWrite(await api(t, 'POST', '/v1/services/web/canary', { pool: 'canary', percent: 0.25 }), 2, { blue: 0, green: 99.75, canary: 0.25, dark: 0 });
  expectServiceWrite(await api(t, 'POST', '/v1/services/web/canary', { pool: 'canary', percent: 100 }), 3, { blue: 0, green: 0, canary: 100, dark: 0 });
  // Every other pool at 0: the tie goes to the first declared pool.
  expectServiceWrite(await api(t, 'POST', '/v1/services/web/canary', { pool: 'canary', percent: 0 }), 4, { blue: 100, green: 0, canary: 0, dark: 0 });

  expectError(await api(t, 'POST', '/v1/services/web/canary', { pool: 'nope', percent: 5 }), 404, 'not_found');
  expectError(await api(t, 'POST', '/v1/services/nope/canary', { pool: 'canary', percent: 5 }), 404, 'not_found');
  expectError(await api(t, 'POST', '/v1/services/web/canary', { pool: 'dark', percent: 5 }), 409, 'conflict');
  expectError(await api(t, 'POST', '/v1/services/web/canary', { pool: 'canary', percent: 5.125 }), 400, 'invalid_request');
  expectError(await api(t, 'POST', '/v1/services/solo/canary', { pool: 'main', percent: 5 }), 400, 'invalid_request');
  expectServiceWrite(await api(t, 'POST', '/v1/services/web/canary?force=true', { pool: 'dark', percent: 5 }), 5, { blue: 95, green: 0, canary: 0, dark: 5 });
});

test('POST rollback restores the split before the last split change, step by step; 409 with nothing to roll back or to an empty pool', async () => {
  const { t } = await startPools(POOLS);
  const none = await api(t, 'POST', '/v1/services/web/rollback');
  expectError(none, 409, 'conflict');
  expectError(await api(t, 'POST', '/v1/services/nope/rollback'), 404, 'not_found');

  expect((await api(t, 'POST', '/v1/services/web/canary', { pool: 'green', percent: 10 })).status).toBe(200); // r2
  // A backend change is not a split change: rollback skips over it.
  expect((await api(t, 'PATCH', '/v1/services/web/pools/blue/backends/blue-1', { weight: 50 })).status).toBe(200); // r3
  expect((await api(t, 'POST', '/v1/services/web/flip', { to: 'green' })).status).toBe(200); // r4
  expectServiceWrite(await api(t, 'POST', '/v1/services/web/rollback'), 4, { blue: 90, green: 10, dark: 0 });
  expectServiceWrite(await api(t, 'POST', '/v1/services/web/rollback'), 5, { blue: 100, green: 0, dark: 0 });
  expectError(await api(t, 'POST', '/v1/services/web/rollback'), 409, 'conflict');

  // Rolling back onto a pool that cannot serve is refused like any split, unless forced.
  expect((await api(t, 'POST', '/v1/services/web/flip?force=true', { to: 'dark' })).status).toBe(200); // r7
  expect((await api(t, 'POST', '/v1/services/web/flip', { to: 'blue' })).status).toBe(200); // r8
  const refused = await api(t, 'POST', '/v1/services/web/rollback');
  expectError(refused, 409, 'conflict');
  expect(refused.body.error.details).toEqual({ pools: ['dark'] });
  expectServiceWrite(await api(t, 'POST', '/v1/services/web/rollback?force=true'), 8, { blue: 0, green: 0, dark: 100 });
});

test('every write records its actor: the token name, plus X-Turnout-Actor when given', async () => {
  const { t } = await startPools(POOLS);
  await api(t, 'POST', '/v1/services/web/flip', { to: 'green' });
  await api(t, 'POST', '/v1/services/web/canary', { pool: 'blue', percent: 5 }, { 'x-turnout-actor': 'deploy-bot #42' });
  await api(t, 'PUT', '/v1/services/web/split', { split: { blue: 100 } }, { 'x-turnout-actor': 'ali\u00e9ce' });
  await api(t, 'POST', '/v1/services/web/rollback', undefined, { 'x-turnout-actor': '   ' });
  const h = await api(t, 'GET', '/v1/services/web/history');
  expect(h.body.history.map((e: { revision: number; actor: string; action: string }) => [e.revision, e.action, e.actor])).toEqual([
    [5, 'rollback', 'ci'],
    [4, 'split', 'ci (alice)'],
    [3, 'canary', 'ci (deploy-bot #42)'],
    [2, 'flip', 'ci'],
  ]);
});
