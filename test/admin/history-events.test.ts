import { expect, test } from 'vitest';
import { READ_TOKEN, api } from '../helpers/turnout.js';
import { apiAs, expectError, expectEtag, startPools, until } from '../helpers/admin.js';

const POOLS = { blue: ['blue-1'], green: ['green-1'] };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

test('GET history: newest first, each {revision, time, actor, action, before, after}; the ETag; readable with a read token', async () => {
  const { t } = await startPools(POOLS);
  const empty = await api(t, 'GET', '/v1/services/web/history');
  expect(empty.status).toBe(200);
  expect(empty.body).toEqual({ revision: 1, history: [] });
  expectEtag(empty, 1);

  await api(t, 'POST', '/v1/services/web/flip', { to: 'green' }, { 'x-turnout-actor': 'pipeline 7' });
  await api(t, 'POST', '/v1/services/web/canary', { pool: 'blue', percent: 12.5 });
  await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: 'blue-9', url: 'http://127.0.0.1:9', weight: 3 });
  await api(t, 'POST', '/v1/services/web/rollback');
  const h = await api(t, 'GET', '/v1/services/web/history');
  expect(h.status).toBe(200);
  expect(Object.keys(h.body).sort()).toEqual(['history', 'revision']);
  expectEtag(h, 5);
  for (const e of h.body.history) {
    expect(Object.keys(e).sort()).toEqual(['action', 'actor', 'after', 'before', 'revision', 'time']);
    expect(e.time).toMatch(ISO);
  }
  const times = h.body.history.map((e: { time: string }) => Date.parse(e.time));
  expect([...times].sort((a, b) => b - a)).toEqual(times);
  expect(h.body.history.map(({ time: _t, ...rest }: { time: string }) => rest)).toEqual([
    { revision: 5, actor: 'ci', action: 'rollback', before: { blue: 12.5, green: 87.5 }, after: { blue: 0, green: 100 } },
    { revision: 4, actor: 'ci', action: 'register', before: null, after: { pool: 'blue', id: 'blue-9', url: 'http://127.0.0.1:9', weight: 3, state: 'active' } },
    { revision: 3, actor: 'ci', action: 'canary', before: { blue: 0, green: 100 }, after: { blue: 12.5, green: 87.5 } },
    { revision: 2, actor: 'ci (pipeline 7)', action: 'flip', before: { blue: 100, green: 0 }, after: { blue: 0, green: 100 } },
  ]);
  expect((await apiAs(t, READ_TOKEN, 'GET', '/v1/services/web/history')).body).toEqual(h.body);
  expectError(await api(t, 'GET', '/v1/services/nope/history'), 404, 'not_found');
  expectError(await apiAs(t, undefined, 'GET', '/v1/services/web/history'), 401, 'unauthorized');
});

test('GET history keeps the last 100 changes', async () => {
  const { t } = await startPools(POOLS);
  for (let i = 0; i < 105; i++) {
    const r = await api(t, 'PATCH', '/v1/services/web/pools/green/backends/green-1', { weight: i + 1 });
    expect(r.status).toBe(200);
  }
  const h = await api(t, 'GET', '/v1/services/web/history');
  expect(h.body.revision).toBe(106);
  expect(h.body.history).toHaveLength(100);
  expect(h.body.history[0]).toMatchObject({ revision: 106, after: { weight: 105 } });
  expect(h.body.history[99]).toMatchObject({ revision: 7, after: { weight: 6 } });
});

test('GET events: newest first, each with time, type, pool, backend and a reason; 404 for an unknown service', async () => {
  const { t } = await startPools(POOLS);
  const none = await api(t, 'GET', '/v1/services/web/events');
  expect(none.status).toBe(200);
  expect(none.body).toEqual({ revision: 1, events: [] });
  expectEtag(none, 1);

  expect((await api(t, 'PATCH', '/v1/services/web/pools/green/backends/green-1', { state: 'draining' })).status).toBe(200);
  expect((await api(t, 'PATCH', '/v1/services/web/pools/green/backends/green-1', { state: 'active' })).status).toBe(200);
  expect((await api(t, 'DELETE', '/v1/services/web/pools/green/backends/green-1?wait=true')).status).toBe(200);
  await until('drain events', async () => (await api(t, 'GET', '/v1/services/web/events')).body.events.length >= 4);
  const ev = await api(t, 'GET', '/v1/services/web/events');
  expect(Object.keys(ev.body).sort()).toEqual(['events', 'revision']);
  expectEtag(ev, ev.body.revision);
  expect(ev.body.events.map((e: { type: string }) => e.type)).toEqual(['drain_end', 'drain_start', 'drain_cancelled', 'drain_start']);
  for (const e of ev.body.events) {
    expect(e).toMatchObject({ time: expect.stringMatching(ISO), pool: 'green', backend: 'green-1', message: expect.any(String) });
    expect(e.message.length).toBeGreaterThan(5);
    const extra = Object.keys(e).filter((k) => !['time', 'type', 'pool', 'backend', 'message', 'details'].includes(k));
    expect(extra).toEqual([]);
  }
  expect(ev.body.events[0].message).toMatch(/removed/);
  expect(ev.body.events[0].details).toMatchObject({ inFlight: 0 });
  // Events are per service.
  expectError(await api(t, 'GET', '/v1/services/nope/events'), 404, 'not_found');
  expectError(await apiAs(t, undefined, 'GET', '/v1/services/web/events'), 401, 'unauthorized');
  expect((await apiAs(t, READ_TOKEN, 'GET', '/v1/services/web/events')).status).toBe(200);
});
