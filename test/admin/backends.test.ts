import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { get } from '../helpers/http.js';
import { READ_TOKEN, api } from '../helpers/turnout.js';
import type { ApiAnswer } from '../helpers/admin.js';
import { apiAs, expectBackendShape, expectError, expectEtag, startPools, until } from '../helpers/admin.js';

const POOLS = { blue: ['blue-1', 'blue-2'], green: ['green-1'] };
const B = '/v1/services/web/pools';

/** A write on a backend: {revision, backend} (plus `extra` keys), the ETag of that revision. */
function expectBackendWrite(res: ApiAnswer, status: number, revision: number, extra: string[] = []): Record<string, unknown> {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(Object.keys(res.body).sort()).toEqual(['backend', 'revision', ...extra].sort());
  expect(res.body.revision).toBe(revision);
  expectEtag(res, revision);
  expectBackendShape(res.body.backend);
  return res.body.backend;
}

test('POST backends registers (201, weight 100 by default), GET shows it, it takes traffic; 409 on a duplicate id in any pool', async () => {
  const { t } = await startPools(POOLS);
  const g2 = await startBackend('green-2');
  const res = await api(t, 'POST', `${B}/green/backends`, { id: 'green-2', url: `${g2.url}/` });
  const b = expectBackendWrite(res, 201, 2);
  expect(b).toEqual({ id: 'green-2', url: g2.url, weight: 100, effectiveWeight: 100, state: 'active', health: 'unknown', ejected: false, inFlight: 0 });

  const one = await api(t, 'GET', `${B}/green/backends/green-2`);
  expect(one.body).toEqual({ revision: 2, backend: b });
  expectEtag(one, 2);
  const svc = await api(t, 'GET', '/v1/services/web');
  expect(svc.body.service.pools.green.backends.map((x: { id: string }) => x.id)).toEqual(['green-1', 'green-2']);

  expect((await api(t, 'POST', '/v1/services/web/flip', { to: 'green' })).status).toBe(200);
  for (let i = 0; i < 10; i++) await get(`${t.proxyUrl}/`);
  expect(g2.hits).toBe(5);

  const w = await api(t, 'POST', `${B}/blue/backends`, { id: 'blue-3', url: 'https://10.0.0.3:8443', weight: 0 });
  expect(expectBackendWrite(w, 201, 4)).toMatchObject({ weight: 0, effectiveWeight: 0, url: 'https://10.0.0.3:8443' });

  const dup = await api(t, 'POST', `${B}/green/backends`, { id: 'green-2', url: g2.url });
  expectError(dup, 409, 'conflict');
  expectError(await api(t, 'POST', `${B}/blue/backends`, { id: 'green-1', url: g2.url }), 409, 'conflict');
  expectError(await api(t, 'POST', `${B}/purple/backends`, { id: 'p-1', url: g2.url }), 404, 'not_found');
  expectError(await api(t, 'POST', '/v1/services/nope/pools/blue/backends', { id: 'p-1', url: g2.url }), 404, 'not_found');
  expectError(await apiAs(t, READ_TOKEN, 'POST', `${B}/blue/backends`, { id: 'p-1', url: g2.url }), 403, 'forbidden');
  expect((await api(t, 'GET', '/v1/services')).body.revision).toBe(4);
});

test('POST backends ?dryRun=true answers the backend it would add, and adds nothing', async () => {
  const { t } = await startPools(POOLS);
  const before = await api(t, 'GET', '/v1/services');
  const res = await api(t, 'POST', `${B}/green/backends?dryRun=true`, { id: 'green-9', url: 'http://127.0.0.1:9', weight: 7 });
  expect(res.status).toBe(200);
  expect(res.body.dryRun).toBe(true);
  expect(res.body.revision).toBe(2);
  expectEtag(res, 1);
  expect(res.body.backend).toMatchObject({ id: 'green-9', weight: 7, state: 'active' });
  expectError(await api(t, 'GET', `${B}/green/backends/green-9`), 404, 'not_found');
  expect((await api(t, 'GET', '/v1/services')).body).toEqual(before.body);
});

test('GET one backend: {revision, backend}; 404 for an unknown backend, pool or service; 401 without a token', async () => {
  const { t, backends } = await startPools(POOLS);
  const res = await api(t, 'GET', `${B}/blue/backends/blue-2`);
  expect(res.status).toBe(200);
  expect(Object.keys(res.body).sort()).toEqual(['backend', 'revision']);
  expectEtag(res, 1);
  expect(res.body.backend).toEqual({
    id: 'blue-2', url: backends['blue-2']?.url, weight: 100, effectiveWeight: 100, state: 'active', health: 'unknown', ejected: false, inFlight: 0,
  });
  expect((await apiAs(t, READ_TOKEN, 'GET', `${B}/blue/backends/blue-2`)).body).toEqual(res.body);
  expectError(await api(t, 'GET', `${B}/blue/backends/nope`), 404, 'not_found');
  // A backend is addressed in its own pool.
  expectError(await api(t, 'GET', `${B}/green/backends/blue-2`), 404, 'not_found');
  expectError(await api(t, 'GET', `${B}/purple/backends/blue-2`), 404, 'not_found');
  expectError(await api(t, 'GET', '/v1/services/nope/pools/blue/backends/blue-2'), 404, 'not_found');
  expectError(await apiAs(t, undefined, 'GET', `${B}/blue/backends/blue-2`), 401, 'unauthorized');
});

test('PATCH weight changes the balance; state maint takes a backend out and active brings it back', async () => {
  const { t, backends } = await startPools(POOLS);
  const w = expectBackendWrite(await api(t, 'PATCH', `${B}/blue/backends/blue-2`, { weight: 300 }), 200, 2);
  expect(w).toMatchObject({ id: 'blue-2', weight: 300, effectiveWeight: 300, state: 'active' });
  for (let i = 0; i < 40; i++) await get(`${t.proxyUrl}/`);
  // Weighted round robin is exact: 1:3 over 40 requests.
  expect([backends['blue-1']?.hits, backends['blue-2']?.hits]).toEqual([10, 30]);

  const m = expectBackendWrite(await api(t, 'PATCH', `${B}/blue/backends/blue-2`, { state: 'maint' }), 200, 3);
  expect(m).toMatchObject({ state: 'maint', weight: 300, effectiveWeight: 0 });
  for (let i = 0; i < 10; i++) await get(`${t.proxyUrl}/`);
  expect([backends['blue-1']?.hits, backends['blue-2']?.hits]).toEqual([20, 30]);

  const a = expectBackendWrite(await api(t, 'PATCH', `${B}/blue/backends/blue-2`, { state: 'active', weight: 100 }), 200, 4);
  expect(a).toMatchObject({ state: 'active', weight: 100, effectiveWeight: 100 });
  for (let i = 0; i < 10; i++) await get(`${t.proxyUrl}/`);
  expect([backends['blue-1']?.hits, backends['blue-2']?.hits]).toEqual([25, 35]);

  const z = expectBackendWrite(await api(t, 'PATCH', `${B}/blue/backends/blue-1`, { weight: 0 }), 200, 5);
  expect(z).toMatchObject({ weight: 0, effectiveWeight: 0, state: 'active' });

  const h = await api(t, 'GET', '/v1/services/web/history');
  expect(h.body.history[0]).toMatchObject({
    revision: 5, action: 'patch', actor: 'ci',
    before: { pool: 'blue', id: 'blue-1', weight: 100, state: 'active' },
    after: { pool: 'blue', id: 'blue-1', weight: 0, state: 'active' },
  });
});

test('PATCH state draining keeps the backend (with drain progress) until it is made active again; errors', async () => {
  const { t } = await startPools(POOLS);
  const d = expectBackendWrite(await api(t, 'PATCH', `${B}/blue/backends/blue-1`, { state: 'draining' }), 200, 2);
  expect(d).toMatchObject({ state: 'draining', effectiveWeight: 0, drain: { inFlight: 0 } });
  const drain = d.drain as { startedAt: string; deadline: string };
  // The service's drain timeout is the default 30 s.
  expect(Date.parse(drain.deadline) - Date.parse(drain.startedAt)).toBeGreaterThanOrEqual(29_000);
  expect(Date.parse(drain.deadline) - Date.parse(drain.startedAt)).toBeLessThanOrEqual(31_000);
  // Nothing in flight, but a PATCH drain does not remove: the backend stays.
  await until('the drain start event', async () => (await api(t, 'GET', '/v1/services/web/events')).body.events.length > 0);
  const still = await api(t, 'GET', `${B}/blue/backends/blue-1`);
  expect(still.body.backend).toMatchObject({ state: 'draining', drain: { startedAt: drain.startedAt } });

  const a = expectBackendWrite(await api(t, 'PATCH', `${B}/blue/backends/blue-1`, { state: 'active' }), 200, 3);
  expect(a.state).toBe('active');
  expect(a.drain).toBeUndefined();

  expectError(await api(t, 'PATCH', `${B}/blue/backends/blue-1`, { state: 'draining', weight: 5 }), 400, 'invalid_request');
  expectError(await api(t, 'PATCH', `${B}/blue/backends/nope`, { weight: 5 }), 404, 'not_found');
  expectError(await api(t, 'PATCH', `${B}/purple/backends/blue-1`, { weight: 5 }), 404, 'not_found');
  expectError(await api(t, 'PATCH', '/v1/services/nope/pools/blue/backends/blue-1', { weight: 5 }), 404, 'not_found');
  expectError(await api(t, 'PATCH', `${B}/blue/backends/blue-1`, {}), 400, 'invalid_request');
  expectError(await apiAs(t, READ_TOKEN, 'PATCH', `${B}/blue/backends/blue-1`, { weight: 5 }), 403, 'forbidden');
  const dry = await api(t, 'PATCH', `${B}/blue/backends/blue-1?dryRun=true`, { state: 'maint' });
  expect(dry.body).toMatchObject({ dryRun: true, revision: 4, backend: { state: 'maint' } });
  expect((await api(t, 'GET', `${B}/blue/backends/blue-1`)).body).toMatchObject({ revision: 3, backend: { state: 'active' } });
});

test('DELETE answers 202 with the drain status, then the idle backend is removed and the events say so', async () => {
  const { t } = await startPools(POOLS);
  const res = await api(t, 'DELETE', `${B}/blue/backends/blue-2?timeout=10s`);
  const b = expectBackendWrite(res, 202, 2);
  expect(b).toMatchObject({ id: 'blue-2', state: 'draining', effectiveWeight: 0, drain: { inFlight: 0 } });
  const drain = b.drain as { startedAt: string; deadline: string };
  expect(Date.parse(drain.deadline) - Date.parse(drain.startedAt)).toBeGreaterThanOrEqual(9_000);
  expect(Date.parse(drain.deadline) - Date.parse(drain.startedAt)).toBeLessThanOrEqual(11_000);

  await until('blue-2 removed', async () => (await api(t, 'GET', `${B}/blue/backends/blue-2`)).status === 404);
  const svc = await api(t, 'GET', '/v1/services/web');
  expect(svc.body.revision).toBe(3);
  expect(svc.body.service.pools.blue.backends.map((x: { id: string }) => x.id)).toEqual(['blue-1']);
  const h = await api(t, 'GET', '/v1/services/web/history');
  expect(h.body.history.slice(0, 2).map((e: { action: string; actor: string }) => [e.action, e.actor])).toEqual([
    ['remove', 'turnout:drain'],
    ['deregister', 'ci'],
  ]);
  const ev = await api(t, 'GET', '/v1/services/web/events');
  expect(ev.body.events.map((e: { type: string; backend: string }) => [e.type, e.backend])).toEqual([
    ['drain_end', 'blue-2'],
    ['drain_start', 'blue-2'],
  ]);
  // Gone means gone: a second DELETE is a 404.
  expectError(await api(t, 'DELETE', `${B}/blue/backends/blue-2`), 404, 'not_found');
});

test('DELETE ?wait=true answers 200 once removed: at once when idle, after the in-flight request otherwise', async () => {
  const { t } = await startPools(POOLS);
  const idle = await api(t, 'DELETE', `${B}/blue/backends/blue-2?wait=true`);
  const b = expectBackendWrite(idle, 200, 3, ['removed']);
  expect(idle.body.removed).toBe(true);
  expect(b).toMatchObject({ id: 'blue-2', state: 'draining', inFlight: 0 });
  expectError(await api(t, 'GET', `${B}/blue/backends/blue-2`), 404, 'not_found');

  const slowSentAt = Date.now();
  const slow = get(`${t.proxyUrl}/slow?ms=1000`).then((r) => ({ status: r.status, backend: JSON.parse(r.text).backend }));
  await until('the slow request is in flight', async () => (await api(t, 'GET', `${B}/blue/backends/blue-1`)).body.backend.inFlight === 1);
  const busy = await api(t, 'DELETE', `${B}/blue/backends/blue-1?wait=true&timeout=10s`);
  const answeredAt = Date.now();
  expectBackendWrite(busy, 200, 5, ['removed']);
  expect(busy.body.removed).toBe(true);
  const s = await slow;
  expect(s).toMatchObject({ status: 200, backend: 'blue-1' });
  // The backend answered 1000 ms after the request was sent; the DELETE waited for that.
  expect(answeredAt - slowSentAt).toBeGreaterThanOrEqual(990);
});

test('DELETE errors: 404 unknown backend, pool or service; 400 bad ?timeout; ?dryRun=true changes nothing', async () => {
  const { t } = await startPools(POOLS);
  expectError(await api(t, 'DELETE', `${B}/blue/backends/nope`), 404, 'not_found');
  expectError(await api(t, 'DELETE', `${B}/purple/backends/blue-1`), 404, 'not_found');
  expectError(await api(t, 'DELETE', '/v1/services/nope/pools/blue/backends/blue-1'), 404, 'not_found');
  expectError(await api(t, 'DELETE', `${B}/blue/backends/blue-1?timeout=soon`), 400, 'invalid_request');
  expectError(await apiAs(t, READ_TOKEN, 'DELETE', `${B}/blue/backends/blue-1`), 403, 'forbidden');
  const dry = await api(t, 'DELETE', `${B}/blue/backends/blue-1?dryRun=true`);
  expect(dry.status).toBe(200);
  expect(dry.body).toMatchObject({ dryRun: true, backend: { id: 'blue-1', state: 'draining' } });
  expectEtag(dry, 1);
  const after = await api(t, 'GET', `${B}/blue/backends/blue-1`);
  expect(after.body).toMatchObject({ revision: 1, backend: { state: 'active' } });
});
