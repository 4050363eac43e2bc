import http from 'node:http';
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import type { TestBackend } from '../helpers/backends.js';
import { clientAgent, get, steadyLoad } from '../helpers/http.js';
import { runRequests } from '../helpers/load.js';
import { webService } from '../helpers/config.js';
import { api, startTestTurnout } from '../helpers/turnout.js';

/** Polls `cond` until true or `ms` of real time passed (performance.now: the slow-start test fakes Date). */
const until = async (cond: () => boolean | Promise<boolean>, ms: number, step = 25): Promise<boolean> => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
};

/** Service `web` over `pools` with outlier detection on (its defaults) and a 500 ms connect timeout. */
const svc = (pools: Record<string, TestBackend[]>, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  webService(pools, { outlier: {}, timeouts: { connect: '500ms', response: '5s' }, ...extra });

describe('health checks and the readiness gate', () => {
  test('a new backend gets no traffic until it passed healthyThreshold checks', async () => {
    const b1 = await startBackend('b1');
    const b2 = await startBackend('b2');
    const t = await startTestTurnout(svc({ blue: [b1] }, { healthCheck: { path: '/health', interval: '100ms', healthyThreshold: 3 } }));
    const r = await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: 'b2', url: b2.url });
    expect(r.status).toBe(201);
    expect(r.body.backend.health).toBe('unknown');
    expect(r.body.backend.effectiveWeight).toBe(0);
    // Right after registering: every request goes to b1.
    const agent = clientAgent(4);
    for (let i = 0; i < 20; i++) expect(JSON.parse((await get(`${t.proxyUrl}/`, { agent })).text).backend).toBe('b1');
    expect(b2.hits).toBe(0);
    expect(await until(() => t.runtime.backendView('web', 'b2')?.health === 'healthy', 3000)).toBe(true);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(JSON.parse((await get(`${t.proxyUrl}/`, { agent })).text).backend);
    expect([...seen].sort()).toEqual(['b1', 'b2']);
    const events = (await api(t, 'GET', '/v1/services/web/events')).body.events;
    expect(events.some((e: { backend?: string; message: string }) => e.backend === 'b2' && /unknown → healthy: GET \/health saw status 200 \(3 passes in a row\)/.test(e.message))).toBe(true);
  });

  test('a backend whose check answers 503 gets no request, not even through the header override, until it passes', async () => {
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    green.healthStatus = 503;
    const t = await startTestTurnout(
      svc({ blue: [blue], green: [green] }, { split: { blue: 100, green: 0 }, headerOverride: true, healthCheck: { path: '/health', interval: '100ms' } }),
    );
    expect(t.runtime.backendView('web', 'green-1')?.health).not.toBe('healthy');
    const agent = clientAgent(2);
    for (let i = 0; i < 10; i++) {
      const res = await get(`${t.proxyUrl}/`, { agent, headers: { 'x-turnout-pool': 'green' } });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text).backend).toBe('blue-1');
    }
    expect(green.hits).toBe(0);
    // flip and canary to a pool with no eligible backend: 409
    const flip = await api(t, 'POST', '/v1/services/web/flip', { to: 'green' });
    expect(flip.status).toBe(409);
    expect(flip.body.error.code).toBe('conflict');
    const canary = await api(t, 'POST', '/v1/services/web/canary', { pool: 'green', percent: 5 });
    expect(canary.status).toBe(409);
    // The event log says why.
    const events = (await api(t, 'GET', '/v1/services/web/events')).body.events as { backend?: string; message: string; details?: Record<string, unknown> }[];
    expect(events.some((e) => e.backend === 'green-1' && /saw status 503/.test(e.message) && e.details?.saw === 'status 503')).toBe(true);
    // Heals: traffic through the override reaches it, the flip is accepted.
    green.healthStatus = 200;
    expect(await until(() => t.runtime.backendView('web', 'green-1')?.health === 'healthy', 3000)).toBe(true);
    const res = await get(`${t.proxyUrl}/`, { agent, headers: { 'x-turnout-pool': 'green' } });
    expect(JSON.parse(res.text).backend).toBe('green-1');
    expect((await api(t, 'POST', '/v1/services/web/flip', { to: 'green' })).status).toBe(200);
  });

  test('a flapping backend does not flap the routing with the default thresholds', async () => {
    const b1 = await startBackend('b1');
    const b2 = await startBackend('b2');
    const t = await startTestTurnout(svc({ blue: [b1, b2] }, { healthCheck: { path: '/health', interval: '100ms' } }));
    expect(t.runtime.backendView('web', 'b2')?.health).toBe('healthy');
    // Alternate the check result on every probe.
    let n = 0;
    const listeners = b2.server.listeners('request');
    b2.server.removeAllListeners('request');
    b2.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url === '/health') {
        res.writeHead(n++ % 2 === 0 ? 503 : 200);
        res.end();
        return;
      }
      for (const l of listeners) (l as (a: unknown, b: unknown) => void)(req, res);
    });
    // Watch b2's health through 8 alternating probes, however long a busy machine takes for them.
    const tables = new Set<unknown>();
    await until(() => {
      tables.add(t.runtime.backendView('web', 'b2')?.health);
      return n >= 8;
    }, 20_000, 20);
    expect(n).toBeGreaterThanOrEqual(8);
    expect([...tables]).toEqual(['healthy']);
    const events = (await api(t, 'GET', '/v1/services/web/events')).body.events as { type: string; message: string }[];
    expect(events.filter((e) => e.type === 'health' && !/start-up/.test(e.message))).toEqual([]);
  });
});

describe('passive outlier detection', () => {
  test('a backend killed under steady load: zero failed client requests, and no request reaches it 1 s after its death', async () => {
    const backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startBackend(id)));
    const t = await startTestTurnout(svc({ blue: backends }, { outlier: { consecutiveFailures: 5, ejectFor: '30s' } }));
    const load = steadyLoad(t.proxyUrl, { connections: 16, maxMs: 8000, maxRequests: 40_000 });
    await new Promise((r) => setTimeout(r, 500));
    const victim = backends[2] as TestBackend;
    const port = victim.port;
    await victim.close();
    const diedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    // Something listens on the dead backend's port again: it must receive nothing while ejected.
    let reached = 0;
    const spy = http.createServer((_req, res) => {
      reached++;
      res.end('spy');
    });
    await new Promise<void>((resolve, reject) => {
      spy.once('error', reject);
      spy.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 1500));
    const results = await load.stop();
    spy.closeAllConnections();
    await new Promise<void>((r) => spy.close(() => r()));
    const failed = results.filter((r) => r.status !== 200);
    expect(results.length).toBeGreaterThan(500);
    expect(failed).toEqual([]);
    expect(reached).toBe(0);
    expect(t.runtime.backendView('web', 'b3')?.ejected).toBe(true);
    const after = results.filter((r) => r.startedAt > diedAt + 1000);
    expect(after.length).toBeGreaterThan(100);
    expect(after.every((r) => r.backend !== 'b3')).toBe(true);
    const events = (await api(t, 'GET', '/v1/services/web/events')).body.events as { type: string; backend?: string; message: string }[];
    expect(events.some((e) => e.type === 'ejected' && e.backend === 'b3' && /5 consecutive failures/.test(e.message))).toBe(true);
  });

  test('5xx answers eject too, and never more than maxEjectedPercent of a pool', async () => {
    const bad = (id: string) =>
      startBackend(id, (_req, res) => {
        res.writeHead(500);
        res.end('boom');
      });
    const b1 = await bad('b1');
    const b2 = await bad('b2');
    const t = await startTestTurnout(svc({ blue: [b1, b2] }, { outlier: { consecutiveFailures: 3, ejectFor: '30s', maxEjectedPercent: 50 } }));
    const agent = clientAgent(2);
    for (let i = 0; i < 30; i++) await get(`${t.proxyUrl}/`, { agent });
    const ejected = ['b1', 'b2'].filter((id) => t.runtime.backendView('web', id)?.ejected);
    expect(ejected).toHaveLength(1);
  });
});

describe('slow start', () => {
  test('a new backend ramps its share from near 0 to its weight share over the window', async () => {
    // The runtime ramps by Date.now. Frozen and moved by hand, each half second of the 2 s window
    // gets its 100 requests however slow the machine is.
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const b1 = await startBackend('b1');
    const b2 = await startBackend('b2');
    const t = await startTestTurnout(svc({ blue: [b1] }, { slowStart: '2s' }));
    const agent = clientAgent(8);
    expect((await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: 'b2', url: b2.url })).status).toBe(201);
    const start = Date.now();
    // Buckets of 0.5 s: share of b2 in each, sent at the bucket's middle.
    const shares: number[] = [];
    let before = 0;
    for (const at of [250, 750, 1250, 1750, 2250, 2750]) {
      vi.setSystemTime(start + at);
      // While b2 ramps, the runtime rebuilds its table on a timer, reading the clock: wait for that.
      const table = t.runtime.current;
      if (before < 2000) expect(await until(() => t.runtime.current !== table, 10_000, 5), `a table rebuilt at ${at} ms`).toBe(true);
      before = at;
      const results = await runRequests(t.proxyUrl, { count: 100, connections: 8, agent });
      expect(results.every((r) => r.status === 200)).toBe(true);
      shares.push(results.filter((r) => r.backend === 'b2').length / results.length);
    }
    // First bucket: well below its final half share; rising; the last bucket (after the window) about 50 %.
    expect(shares[0]).toBeLessThan(0.2);
    expect(shares[1]).toBeGreaterThan(shares[0] as number);
    expect(shares[2]).toBeGreaterThan(shares[0] as number);
    expect(shares[5]).toBeGreaterThan(0.4);
    expect(shares[5]).toBeLessThan(0.6);
  });
});
