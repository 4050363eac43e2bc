import { expect, test } from 'vitest';
import { clientAgent, get } from '../helpers/http.js';
import type { Answer } from '../helpers/http.js';
import { api } from '../helpers/turnout.js';
import { startPools } from '../helpers/admin.js';

const POOLS = { stable: ['stable-1'], canary: ['canary-1'] };

const backendOf = (a: Answer): string => JSON.parse(a.text).backend as string;
const setCookie = (a: Answer): string | undefined => {
  const v = a.headers['set-cookie'];
  return Array.isArray(v) ? v.join('\n') : v;
};

test('sticky: the first response sets turnout_web=<pool> (HttpOnly, SameSite=Lax) naming the pool that answered', async () => {
  const { t } = await startPools(POOLS, { sticky: true });
  const agent = clientAgent(1);
  const first = await get(`${t.proxyUrl}/`, { agent });
  expect(first.status).toBe(200);
  expect(backendOf(first)).toBe('stable-1');
  const cookie = setCookie(first) ?? '';
  const parts = cookie.split(';').map((p) => p.trim());
  expect(parts[0]).toBe('turnout_web=stable');
  expect(parts).toContain('HttpOnly');
  expect(parts).toContain('SameSite=Lax');
  expect(parts).toContain('Path=/');
});

test('sticky: a client with the canary cookie stays on canary over 100 requests while canary has a share, and is re-assigned when the share goes to 0', async () => {
  const { t } = await startPools(POOLS, { sticky: true });
  const agent = clientAgent(4);
  expect((await api(t, 'POST', '/v1/services/web/canary', { pool: 'canary', percent: 10 })).status).toBe(200);

  // New clients are assigned by the split; the cookie names where they landed.
  let assigned: Answer | undefined;
  for (let i = 0; i < 500 && assigned === undefined; i++) {
    const a = await get(`${t.proxyUrl}/`, { agent });
    expect(setCookie(a)).toMatch(new RegExp(`^turnout_web=${backendOf(a).split('-')[0]};`));
    if (backendOf(a) === 'canary-1') assigned = a;
  }
  expect(assigned, 'a client assigned to canary within 500 new clients at 10 %').toBeDefined();
  const cookie = (setCookie(assigned as Answer) ?? '').split(';')[0] as string;
  expect(cookie).toBe('turnout_web=canary');

  const sticky = await Promise.all(
    Array.from({ length: 100 }, (_, i) => get(`${t.proxyUrl}/p${i}`, { agent, headers: { cookie: i % 2 ? cookie : `a=1; ${cookie}; b=2` } })),
  );
  expect(sticky.map(backendOf)).toEqual(Array(100).fill('canary-1'));
  const onStable = await Promise.all(Array.from({ length: 100 }, () => get(`${t.proxyUrl}/`, { agent, headers: { cookie: 'turnout_web=stable' } })));
  expect(onStable.map(backendOf)).toEqual(Array(100).fill('stable-1'));

  // Canary's share goes to 0: the canary cookie no longer holds, the client is re-assigned.
  expect((await api(t, 'POST', '/v1/services/web/canary', { pool: 'canary', percent: 0 })).status).toBe(200);
  const moved = await get(`${t.proxyUrl}/`, { agent, headers: { cookie } });
  expect(backendOf(moved)).toBe('stable-1');
  expect(setCookie(moved)).toMatch(/^turnout_web=stable;/);
  const again = await Promise.all(Array.from({ length: 20 }, () => get(`${t.proxyUrl}/`, { agent, headers: { cookie } })));
  expect(again.map(backendOf)).toEqual(Array(20).fill('stable-1'));
});

test('sticky: a cookie for a pool with a share but no eligible backend, or for an unknown pool, is re-assigned', async () => {
  const { t } = await startPools(POOLS, { sticky: true, split: { stable: 50, canary: 50 } });
  const agent = clientAgent(1);
  expect((await api(t, 'PATCH', '/v1/services/web/pools/canary/backends/canary-1', { state: 'maint' })).status).toBe(200);
  for (let i = 0; i < 10; i++) {
    const a = await get(`${t.proxyUrl}/`, { agent, headers: { cookie: 'turnout_web=canary' } });
    expect(backendOf(a)).toBe('stable-1');
    expect(setCookie(a)).toMatch(/^turnout_web=stable;/);
  }
  const unknown = await get(`${t.proxyUrl}/`, { agent, headers: { cookie: 'turnout_web=purple' } });
  expect(backendOf(unknown)).toBe('stable-1');
  expect(setCookie(unknown)).toMatch(/^turnout_web=stable;/);
});

test('no cookie is set when sticky is off', async () => {
  const { t } = await startPools(POOLS);
  const a = await get(`${t.proxyUrl}/`);
  expect(a.status).toBe(200);
  expect(setCookie(a)).toBeUndefined();
});

test('header override: X-Turnout-Pool reaches a 0 % pool when enabled; an unknown pool falls back to the split', async () => {
  const { t } = await startPools(POOLS, { headerOverride: true });
  const agent = clientAgent(4);
  const svc = await api(t, 'GET', '/v1/services/web');
  expect(svc.body.service.split).toEqual({ stable: 100, canary: 0 });
  const over = await Promise.all(Array.from({ length: 20 }, () => get(`${t.proxyUrl}/`, { agent, headers: { 'x-turnout-pool': 'canary' } })));
  expect(over.map((a) => [a.status, backendOf(a)])).toEqual(Array(20).fill([200, 'canary-1']));
  const plain = await Promise.all(Array.from({ length: 20 }, () => get(`${t.proxyUrl}/`, { agent })));
  expect(plain.map(backendOf)).toEqual(Array(20).fill('stable-1'));
  const unknown = await get(`${t.proxyUrl}/`, { agent, headers: { 'x-turnout-pool': 'purple' } });
  expect(backendOf(unknown)).toBe('stable-1');
});

test('header override: X-Turnout-Pool is ignored when headerOverride is false', async () => {
  const { t, backends } = await startPools(POOLS, { headerOverride: false });
  const agent = clientAgent(4);
  const res = await Promise.all(Array.from({ length: 20 }, () => get(`${t.proxyUrl}/`, { agent, headers: { 'x-turnout-pool': 'canary' } })));
  expect(res.map(backendOf)).toEqual(Array(20).fill('stable-1'));
  expect(backends['canary-1']?.hits).toBe(0);
});
