import { describe, expect, test } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { onTestFinished } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import type { TestBackend } from '../helpers/backends.js';
import { clientAgent, get, steadyLoad } from '../helpers/http.js';
import { webService } from '../helpers/config.js';
import { PROCESS_MODELS, api, fleetWorkers, startTestTurnout } from '../helpers/turnout.js';
import type { AdminAt } from '../helpers/turnout.js';
import { sleep, until } from '../helpers/time.js';

/** Service `web` over `pools`, outlier detection off, timeouts long enough for the slow requests drained here. */
const svc = (pools: Record<string, readonly { id: string; url: string }[]>, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  webService(pools, { timeouts: { connect: '2s', response: '10s' }, ...extra });

/** A WebSocket echo backend that says which backend it is. */
async function wsBackend(id: string): Promise<{ id: string; url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.setHeader('x-backend', id);
    res.end(JSON.stringify({ backend: id }));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`${id}:${m.toString()}`)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  onTestFinished(close);
  return { id, url: `http://127.0.0.1:${port}`, close };
}

function openWs(url: string): Promise<{ ws: WebSocket; closed: Promise<{ code: number; at: number }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const closed = new Promise<{ code: number; at: number }>((r) => ws.on('close', (code) => r({ code, at: Date.now() })));
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('error', reject);
    onTestFinished(() => ws.terminate());
  });
}

function echo(ws: WebSocket, msg: string): Promise<string> {
  return new Promise((r) => {
    ws.once('message', (d) => r(d.toString()));
    ws.send(msg);
  });
}

/** Each worker's requests and upgrades in flight (none in one process). */
const workersInFlight = async (t: AdminAt): Promise<number[]> => (await fleetWorkers(t)).map((w) => w.inFlight);

describe.each(PROCESS_MODELS)('deregistering a backend drains it ($name)', ({ workers }) => {
  test('slow requests in flight finish with 200, no new request reaches it, wait=true answers once it is gone', async () => {
    const b1 = await startBackend('b1');
    const b2 = await startBackend('b2');
    const t = await startTestTurnout(svc({ blue: [b1, b2] }), { workers });
    const agent = clientAgent(16);
    // 12 slow requests: EDF alternates, so 6 land on each backend. Each on its own connection:
    // with workers, the kernel spreads the connections over the workers' sockets (or the hand-off
    // gives each to the worker with the fewest open): at least 2 on each but for a 1 in 150 chance.
    const slow = Array.from({ length: 12 }, () => get(`${t.proxyUrl}/slow?ms=2500`, { agent }).then((r) => ({ ...r, endedAt: Date.now() })));
    const inFlight = (): number => (t.runtime.backendView('web', 'b1')?.inFlight ?? 0) + (t.runtime.backendView('web', 'b2')?.inFlight ?? 0);
    await until('the 12 slow requests are in flight', () => inFlight() === 12, 2000);
    // Counted in flight once sent: the backends may not have read the last one yet.
    await until('the backends have them', () => b1.hits + b2.hits >= 12, 2000);
    // EDF alternates, so 6 land on each (a connect retry on a starved machine may move one).
    const onB1 = t.runtime.backendView('web', 'b1')?.inFlight ?? 0;
    expect(onB1).toBeGreaterThan(0);
    if (workers !== undefined) {
      // At least 2 slow requests on each worker; each worker's balancer alternates b1 and b2, so
      // each has at least one on b1, and the drain below must wait for both.
      const perWorker = await workersInFlight(t);
      expect(perWorker).toHaveLength(workers);
      for (const n of perWorker) expect(n).toBeGreaterThanOrEqual(2);
    }
    const hitsBefore = b1.hits;
    const started = Date.now();
    const del = api(t, 'DELETE', '/v1/services/web/pools/blue/backends/b1?wait=true&timeout=20s').then((r) => ({ ...r, at: Date.now() }));
    await sleep(200);
    // While it drains: GET shows progress, new requests all go to b2.
    const view = await api(t, 'GET', '/v1/services/web/pools/blue/backends/b1');
    expect(view.body.backend.state).toBe('draining');
    expect(view.body.backend.drain.inFlight).toBe(onB1);
    expect(typeof view.body.backend.drain.deadline).toBe('string');
    for (let i = 0; i < 20; i++) expect(JSON.parse((await get(`${t.proxyUrl}/`, { agent })).text).backend).toBe('b2');
    expect(b1.hits).toBe(hitsBefore);
    const results = await Promise.all(slow);
    const lastEnded = Math.max(...results.map((r) => r.endedAt));
    expect(results.map((r) => r.status)).toEqual(Array<number>(12).fill(200));
    const answer = await del;
    const answeredAt = answer.at;
    expect(answer.status).toBe(200);
    expect(answer.body.removed).toBe(true);
    // wait=true answered only after the slow requests ended, and within 1 s of the last one.
    expect(answeredAt - started).toBeGreaterThan(1800);
    expect(answeredAt).toBeGreaterThanOrEqual(lastEnded - 50);
    expect(answeredAt - lastEnded).toBeLessThan(1000);
    expect((await api(t, 'GET', '/v1/services/web/pools/blue/backends/b1')).status).toBe(404);
    const events = (await api(t, 'GET', '/v1/services/web/events')).body.events as { type: string; backend?: string }[];
    expect(events.filter((e) => e.backend === 'b1').map((e) => e.type)).toEqual(['drain_end', 'drain_start']);
  });

  test('a backend with nothing in flight is removed at once (202, then gone)', async () => {
    const b1 = await startBackend('b1');
    const b2 = await startBackend('b2');
    const t = await startTestTurnout(svc({ blue: [b1, b2] }), { workers });
    const r = await api(t, 'DELETE', '/v1/services/web/pools/blue/backends/b1');
    expect(r.status).toBe(202);
    expect(r.body.backend.state).toBe('draining');
    const end = Date.now() + 1000;
    while (Date.now() < end && t.runtime.hasBackend('web', 'b1')) await sleep(10);
    expect(t.runtime.hasBackend('web', 'b1')).toBe(false);
  });

  test('PATCH state draining drains without removing; active brings it back', async () => {
    const b1 = await startBackend('b1');
    const b2 = await startBackend('b2');
    const t = await startTestTurnout(svc({ blue: [b1, b2] }), { workers });
    const agent = clientAgent(4);
    expect((await api(t, 'PATCH', '/v1/services/web/pools/blue/backends/b1', { state: 'draining' })).status).toBe(200);
    await sleep(200);
    expect(t.runtime.hasBackend('web', 'b1')).toBe(true);
    for (let i = 0; i < 10; i++) expect(JSON.parse((await get(`${t.proxyUrl}/`, { agent })).text).backend).toBe('b2');
    expect((await api(t, 'PATCH', '/v1/services/web/pools/blue/backends/b1', { state: 'active' })).status).toBe(200);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(JSON.parse((await get(`${t.proxyUrl}/`, { agent })).text).backend);
    expect([...seen].sort()).toEqual(['b1', 'b2']);
  });

  test('WebSockets on a draining backend (on every worker) get 1001 at the deadline; those on another backend are untouched', async () => {
    const w1 = await wsBackend('w1');
    const w2 = await wsBackend('w2');
    const t = await startTestTurnout(svc({ blue: [w1, w2] }), { workers });
    const wsUrl = t.proxyUrl.replace('http', 'ws');
    // Opened one at a time until w1 has one on every worker (and w2 has one): with workers, which
    // worker took each is the one whose handed-over count rose. One process: EDF alternates, so
    // that is 2 sockets, one on each backend.
    const pids = (await fleetWorkers(t)).map((w) => w.pid);
    const handed = async (): Promise<Map<number, number>> => new Map((await fleetWorkers(t)).map((w) => [w.pid, w.connections.total]));
    const sockets: { ws: WebSocket; closed: Promise<{ code: number; at: number }>; backend: string; worker: number | undefined }[] = [];
    const covered = (): boolean => {
      const w1 = new Set(sockets.filter((s) => s.backend === 'w1').map((s) => s.worker));
      return sockets.some((s) => s.backend === 'w2') && (pids.length === 0 ? w1.size > 0 : pids.every((p) => w1.has(p)));
    };
    // Up to 16: the kernel's SO_REUSEPORT hash picks the worker, so 8 left a worker without one
    // in about 1 run in 100 (all on one worker alone is 1 in 128; seen once in CI at ba9ff9a).
    for (let i = 0; i < 16 && !covered(); i++) {
      const before = await handed();
      const s = await openWs(`${wsUrl}/chat`);
      const after = await handed();
      const worker = pids.find((p) => (after.get(p) ?? 0) > (before.get(p) ?? 0));
      sockets.push({ ...s, worker, backend: (await echo(s.ws, 'hi')).split(':')[0] as string });
    }
    expect(covered()).toBe(true);
    if (workers === undefined) expect(sockets.map((s) => s.backend).sort()).toEqual(['w1', 'w2']);
    else expect(sockets.map((s) => s.worker)).not.toContain(undefined);
    const onW1 = sockets.filter((s) => s.backend === 'w1');
    const onW2 = sockets.filter((s) => s.backend === 'w2');
    await until('the upgrades on w1 are counted', () => t.runtime.backendView('web', 'w1')?.inFlight === onW1.length, 2000);
    expect(t.runtime.backendView('web', 'w1')?.inFlight).toBe(onW1.length);
    const started = Date.now();
    const del = await api(t, 'DELETE', '/v1/services/web/pools/blue/backends/w1?timeout=1s');
    expect(del.status).toBe(202);
    for (const s of onW1) {
      const closed = await s.closed;
      expect(closed.code).toBe(1001);
      expect(closed.at - started).toBeGreaterThanOrEqual(900);
      expect(closed.at - started).toBeLessThan(3000);
    }
    // The others still echo.
    for (const s of onW2) {
      expect(await echo(s.ws, 'still')).toBe('w2:still');
      expect(s.ws.readyState).toBe(WebSocket.OPEN);
    }
    await sleep(200);
    expect(t.runtime.hasBackend('web', 'w1')).toBe(false);
  });
});

describe.each(PROCESS_MODELS)('flip barrier ($name)', ({ workers }) => {
  test('flip ?wait=drained answers after the last slow blue request finished', async () => {
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const t = await startTestTurnout(svc({ blue: [blue], green: [green] }, { split: { blue: 100, green: 0 } }), { workers });
    const agent = clientAgent(16);
    // Ten connections: with workers, both have at least one of them (the kernel's spread over the
    // workers' sockets leaves one without in 1 of 500; the hand-off gives each worker its share).
    const slow = [1200, 1300, 1400, 1500, 1600, 1800, 2000, 2100, 2200, 2400].map((ms) => get(`${t.proxyUrl}/slow?ms=${ms}`, { agent }).then((r) => ({ r, at: Date.now() })));
    await until('the 10 slow requests are in flight on blue', () => (t.runtime.backendView('web', 'blue-1')?.inFlight ?? 0) === 10, 3000);
    if (workers !== undefined) {
      const perWorker = await workersInFlight(t);
      expect(perWorker).toHaveLength(workers);
      for (const n of perWorker) expect(n).toBeGreaterThanOrEqual(1);
    }
    const flip = await api(t, 'POST', '/v1/services/web/flip?wait=drained', { to: 'green' });
    const answeredAt = Date.now();
    const done = await Promise.all(slow);
    expect(flip.status).toBe(200);
    expect(flip.body.drained).toBe(true);
    expect(flip.body.inFlight).toBe(0);
    expect(flip.body.service.split).toEqual({ blue: 0, green: 100 });
    const lastBlue = Math.max(...done.map((d) => d.at));
    expect(done.every((d) => d.r.status === 200)).toBe(true);
    expect(answeredAt).toBeGreaterThanOrEqual(lastBlue - 50);
    expect(answeredAt - lastBlue).toBeLessThan(1000);
  });
});

describe.each(PROCESS_MODELS)('rolling replacement ($name)', ({ workers }) => {
  test('three old backends replaced one by one under steady load with 10 % slow requests: zero failed requests', async () => {
    const old = await Promise.all(['old-1', 'old-2', 'old-3'].map((id) => startBackend(id)));
    const t = await startTestTurnout(svc({ blue: old }, { healthCheck: { path: '/health', interval: '100ms' } }), { workers });
    const load = steadyLoad(t.proxyUrl, { connections: 16, maxMs: 25_000, maxRequests: 200_000, path: (i) => (i % 10 === 0 ? '/slow?ms=400' : '/') });
    await sleep(300);
    for (let i = 0; i < 3; i++) {
      const fresh = await startBackend(`new-${i + 1}`);
      expect((await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: fresh.id, url: fresh.url })).status).toBe(201);
      const end = Date.now() + 5000;
      while (Date.now() < end && t.runtime.backendView('web', fresh.id)?.health !== 'healthy') await sleep(20);
      expect(t.runtime.backendView('web', fresh.id)?.health).toBe('healthy');
      const del = await api(t, 'DELETE', `/v1/services/web/pools/blue/backends/old-${i + 1}?wait=true&timeout=10s`);
      expect(del.status).toBe(200);
      await (old[i] as TestBackend).close(); // the deploy tool kills the old process
      await sleep(200);
    }
    const results = await load.stop();
    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const services = (await api(t, 'GET', '/v1/services/web')).body.service;
    expect(services.pools.blue.backends.map((b: { id: string }) => b.id)).toEqual(['new-1', 'new-2', 'new-3']);
  });
});
