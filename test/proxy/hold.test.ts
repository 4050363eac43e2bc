import net from 'node:net';
import { describe, expect, test } from 'vitest';
import { request } from 'undici';
import { until } from '../helpers/admin.js';
import { deadPort, startBackend } from '../helpers/backends.js';
import { startRawBackend } from '../helpers/raw.js';
import { readSnapshots } from '../helpers/sse.js';
import { webService } from '../helpers/config.js';
import { eventTypes, failureSummary, holdLoad, metricValue, quantile, startStoppableApp } from '../helpers/hold.js';
import type { LoadOutcome } from '../helpers/hold.js';
import { clientAgent, get } from '../helpers/http.js';
import type { Answer } from '../helpers/http.js';
import { sleep } from '../helpers/time.js';
import { api, READ_TOKEN, startTestTurnout } from '../helpers/turnout.js';

// SPEC "Hold and limits": requests wait for a backend instead of failing.

/**
 * The single-instance stop-start deploy under 16 connections of GETs and POSTs: the app stops
 * (listener and idle connections closed, in-flight finished), stays down 2 s, and a new one starts
 * on the same port. Returns every outcome and the turnout it ran on.
 */
async function stopStart(service: Record<string, unknown>, postEvery: number): Promise<{ outcomes: LoadOutcome[]; t: Awaited<ReturnType<typeof startTestTurnout>> }> {
  const app1 = await startStoppableApp('app');
  const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app1.url }] }, service));
  const load = holdLoad(t.proxyUrl, { connections: 16, maxMs: 20_000, maxRequests: 200_000, postEvery });
  await until('load flowing', () => app1.stats.served > 200);
  await app1.stop();
  await sleep(2000);
  const app2 = await startStoppableApp('app', app1.port);
  await until('load on the new app', () => app2.stats.served > 200, 10_000);
  await sleep(300);
  const outcomes = await load.stop();
  return { outcomes, t };
}

describe('hold: the single-instance stop-start deploy', () => {
  // The acceptance 1. A POST is the hard case: written on a pooled keep-alive connection
  // in the instant the stopping app closes it as idle, it is reset after its bytes reached the app
  // and can be neither retried nor held (see 'a reset on a kept-alive connection' below). With hold
  // on such requests take a new connection; the race left is the app accepting that connection
  // and closing it as idle before reading it (measured 0 or 1 per run). GETs never fail.
  test('hold.timeout 10s, GETs and POSTs: no GET fails, a POST only in the accept-then-close race; hold_start then hold_end', async () => {
    const { outcomes, t } = await stopStart({ hold: { timeout: '10s' } }, 5);
    const waited = outcomes.filter((o) => o.ms > 1000).length;
    const failures = failureSummary(outcomes);
    console.log(`stop-start, hold on, GETs and POSTs: ${outcomes.length} requests, ${waited} waited over 1 s, failures ${JSON.stringify(failures)}`);
    expect(outcomes.length).toBeGreaterThan(400);
    expect(outcomes.filter((o) => o.method === 'POST').length).toBeGreaterThan(50);
    expect(Object.keys(failures).filter((k) => k !== 'POST 502 upstream_error')).toEqual([]);
    expect(failures['POST 502 upstream_error'] ?? 0).toBeLessThanOrEqual(2);
    // Requests really waited through the gap (the app was down 2 s).
    expect(waited).toBeGreaterThan(0);
    // hold_end comes 1 s after the queue last emptied.
    await until('hold_end event', async () => (await eventTypes(t)).includes('hold_end'), 5000, 100);
    expect((await eventTypes(t)).filter((e) => e.startsWith('hold_'))).toEqual(['hold_start', 'hold_end']);
  });

  test('hold.timeout 10s, GETs only: no request fails', async () => {
    const { outcomes, t } = await stopStart({ hold: { timeout: '10s' } }, 0);
    const upstreamResets = await metricValue(t, 'turnout_upstream_errors_total{service="web",pool="blue",backend="app",reason="reset"}');
    console.log(`stop-start, hold on, GETs only: ${outcomes.length} requests, ${upstreamResets ?? 0} upstream resets replayed, failures ${JSON.stringify(failureSummary(outcomes))}`);
    expect(outcomes.length).toBeGreaterThan(400);
    expect(failureSummary(outcomes)).toEqual({});
    expect(outcomes.filter((o) => o.ms > 1000).length).toBeGreaterThan(0);
  });

  test('the same with hold off fails requests (the test can fail)', async () => {
    const { outcomes, t } = await stopStart({}, 5);
    const failures = failureSummary(outcomes);
    const failed = outcomes.filter((o) => o.status !== 200).length;
    console.log(`stop-start, hold off: ${outcomes.length} requests, ${failed} failed: ${JSON.stringify(failures)}`);
    expect(failed).toBeGreaterThan(0);
    expect((await eventTypes(t)).filter((e) => e.startsWith('hold_'))).toEqual([]);
  });
});

describe('maxRequestsPerBackend', () => {
  // The acceptance 2: 32 connections on one backend limited to 4 in flight.
  test.each([
    { name: 'hold on (10s)', hold: { hold: { timeout: '10s' } } },
    { name: 'hold off (the response timeout bounds the wait)', hold: {} },
  ])('4 under 32 connections, $name: never more than 4 at the backend, no failure', async ({ name, hold }) => {
    const app = await startStoppableApp('app', 0, { delayMs: () => 20 + Math.floor(Math.random() * 31) });
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app.url }] }, { maxRequestsPerBackend: 4, ...hold }));
    const load = holdLoad(t.proxyUrl, { connections: 32, maxMs: 20_000, maxRequests: 400, postEvery: 10 });
    await until('400 answers', () => load.outcomes.length >= 400, 25_000, 50);
    const outcomes = await load.stop();
    const ms = outcomes.map((o) => o.ms);
    const p50 = quantile(ms, 0.5);
    const p99 = quantile(ms, 0.99);
    console.log(`maxRequestsPerBackend 4, 32 connections, ${name}: ${outcomes.length} requests, backend max in flight ${app.stats.maxInFlight}, p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`);
    expect(outcomes).toHaveLength(400);
    expect(failureSummary(outcomes)).toEqual({});
    expect(app.stats.maxInFlight).toBeLessThanOrEqual(4);
    // The limit was reached (so it was what held the others back).
    expect(app.stats.maxInFlight).toBe(4);
    // 32 waiting for 4 slots of ~35 ms: about 8 × 35 ms each; far from the 5 s response timeout.
    expect(p99).toBeLessThan(3000);
    expect(t.proxy!.holdWaiting('web')).toBe(0);
  });
  test('hold off: a request over the limit waits at most the response timeout (1s), then 503 no_backend', async () => {
    // The one slot is held by a long answer that keeps streaming.
    const app = await startBackend('app', (req, res) => {
      if (req.url === '/long') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        // A chunk every 200 ms (the response timeout runs between chunks), done after 2.5 s.
        res.write('streaming');
        const tick = setInterval(() => res.write('.'), 200);
        const timer = setTimeout(() => {
          clearInterval(tick);
          res.end('done');
        }, 2500);
        res.on('close', () => {
          clearInterval(tick);
          clearTimeout(timer);
        });
        return;
      }
      res.end('ok');
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app.url }] }, { maxRequestsPerBackend: 1, timeouts: { connect: '1s', response: '1s' } }));
    const agent = clientAgent(2);
    const long = request(`${t.proxyUrl}/long`, { dispatcher: agent });
    const head = await long;
    expect(head.statusCode).toBe(200);
    const t0 = performance.now();
    const second = await get(`${t.proxyUrl}/second`, { agent });
    const ms = since(t0);
    console.log(`limit 1, hold off: the request over the limit answered ${second.status} after ${ms.toFixed(0)} ms`);
    expect({ status: second.status, error: second.headers['x-turnout-error'] }).toEqual({ status: 503, error: 'no_backend' });
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThanOrEqual(1400);
    // The slot holder was not disturbed.
    expect(await head.body.text()).toMatch(/^streaming\.+done$/);
    expect(t.proxy!.holdWaiting('web')).toBe(0);
  });
});

/** Milliseconds since `t0` (performance.now()). */
const since = (t0: number): number => performance.now() - t0;

/** A raw GET on its own connection; resolves with the socket once it is written. */
function rawGet(port: number, path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: example.test\r\n\r\n`);
      resolve(socket);
    });
  });
}

describe('hold timeouts and clients that leave', () => {
  // The issue's ±10 %, on 2 s rather than 1 s: deadlines are checked on a 50 ms tick, and a busy
  // 2-core machine adds its own delay; 200 ms of room still fails a deadline missed by a tick or two.
  test.each([
    { name: 'an empty pool', pools: () => Promise.resolve({ blue: [] }), extra: {} },
    {
      name: 'its only backend unhealthy',
      pools: async () => {
        const b = await startStoppableApp('sick');
        b.server.removeAllListeners('request');
        b.server.on('request', (_req, res) => {
          res.writeHead(503);
          res.end();
        });
        return { blue: [{ id: 'sick', url: b.url }] };
      },
      extra: { healthCheck: { path: '/health', interval: '100ms', unhealthyThreshold: 1 } },
    },
  ])('with $name: 503 no_backend after hold.timeout 2s ± 10 %, counted in turnout_hold_timeouts_total', async ({ pools, extra }) => {
    const t = await startTestTurnout(webService(await pools(), { hold: { timeout: '2s' }, ...extra }));
    if ('healthCheck' in extra) {
      await until('backend unhealthy', () => t.runtime.backendView('web', 'sick')?.health === 'unhealthy');
    }
    const before = (await metricValue(t, 'turnout_hold_timeouts_total{service="web"}')) ?? 0;
    const agent = clientAgent(3);
    const elapsed: number[] = [];
    const answers = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const t0 = performance.now();
        const a = await get(`${t.proxyUrl}/r/${i}`, { agent });
        elapsed.push(since(t0));
        return a;
      }),
    );
    console.log(`hold.timeout 2s answered after ${elapsed.map((e) => e.toFixed(0)).join(', ')} ms`);
    for (const a of answers) expect({ status: a.status, error: a.headers['x-turnout-error'] }).toEqual({ status: 503, error: 'no_backend' });
    for (const e of elapsed) {
      expect(e).toBeGreaterThanOrEqual(1800);
      expect(e).toBeLessThanOrEqual(2200);
    }
    expect(await metricValue(t, 'turnout_hold_timeouts_total{service="web"}')).toBe(before + 3);
    expect(await metricValue(t, 'turnout_hold_waiting{service="web"}')).toBe(0);
    expect(t.proxy!.holdWaiting('web')).toBe(0);
  });

  // SPEC: "a client that disconnects leaves the queue". A client that closes its connection sends
  // a FIN (socket.destroy() with nothing unread); one that aborts hard sends a RST.
  test.each([
    { how: 'closes its connection (FIN)', leave: (s: net.Socket) => s.destroy() },
    { how: 'resets its connection (RST)', leave: (s: net.Socket) => s.resetAndDestroy() },
  ])('a waiting client that $how leaves the queue', async ({ leave }) => {
    const t = await startTestTurnout(webService({ blue: [] }, { hold: { timeout: '10s' } }));
    const port = Number(new URL(t.proxyUrl).port);
    const socket = await rawGet(port, '/leaver');
    await until('the request waits', () => t.proxy!.holdWaiting('web') === 1);
    expect(await metricValue(t, 'turnout_hold_waiting{service="web"}')).toBe(1);
    leave(socket);
    await until('the request left the queue', () => t.proxy!.holdWaiting('web') === 0, 2000);
    expect(await metricValue(t, 'turnout_hold_waiting{service="web"}')).toBe(0);
    // It left; it did not time out.
    expect((await metricValue(t, 'turnout_hold_timeouts_total{service="web"}')) ?? 0).toBe(0);
  });

  test('maxWaiting 2: the 3rd concurrent request gets 503 at once while 2 wait', async () => {
    const t = await startTestTurnout(webService({ blue: [] }, { hold: { timeout: '5s', maxWaiting: 2 } }));
    const agent = clientAgent(3);
    const waiting = [get(`${t.proxyUrl}/w/0`, { agent }), get(`${t.proxyUrl}/w/1`, { agent })];
    await until('2 wait', () => t.proxy!.holdWaiting('web') === 2);
    const t0 = performance.now();
    const third = await get(`${t.proxyUrl}/w/2`, { agent });
    const thirdMs = since(t0);
    console.log(`maxWaiting: the 3rd request answered after ${thirdMs.toFixed(0)} ms`);
    expect({ status: third.status, error: third.headers['x-turnout-error'] }).toEqual({ status: 503, error: 'no_backend' });
    expect(thirdMs).toBeLessThan(500);
    expect(t.proxy!.holdWaiting('web')).toBe(2);
    // The two that wait are served once a backend comes.
    const app = await startStoppableApp('app');
    expect((await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: 'app', url: app.url })).status).toBe(201);
    expect((await Promise.all(waiting)).map((a) => a.status)).toEqual([200, 200]);
  });
});

describe('waking waiting requests', () => {
  test('registering a backend serves the waiting requests at once, well before retryInterval (5s)', async () => {
    const t = await startTestTurnout(webService({ blue: [] }, { hold: { timeout: '10s', retryInterval: '5s' } }));
    const agent = clientAgent(4);
    const ended: number[] = [];
    const answers = [0, 1, 2, 3].map((i) => get(`${t.proxyUrl}/w/${i}`, { agent }).then((a) => (ended.push(performance.now()), a)));
    await until('4 wait', () => t.proxy!.holdWaiting('web') === 4);
    const app = await startStoppableApp('app');
    const t0 = performance.now();
    expect((await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: 'app', url: app.url })).status).toBe(201);
    expect((await Promise.all(answers)).map((a) => a.status)).toEqual([200, 200, 200, 200]);
    const afterMs = ended.map((e) => e - t0);
    console.log(`table change: waiting requests served ${afterMs.map((e) => e.toFixed(0)).join(', ')} ms after the register call was sent`);
    // ~100 ms is the goal (measured 10-50 ms); 500 ms leaves room for a busy machine and still
    // tells a wake-up on the table change from the 5 s retry tick.
    for (const ms of afterMs) expect(ms).toBeLessThan(500);
  });

  test('waiting requests are served in arrival order', async () => {
    // One at a time at the backend (maxRequestsPerBackend 1), so its arrival order is the queue's.
    const t = await startTestTurnout(webService({ blue: [] }, { hold: { timeout: '10s' }, maxRequestsPerBackend: 1 }));
    const agent = clientAgent(5);
    const answers: Promise<Answer>[] = [];
    for (let i = 0; i < 5; i++) {
      answers.push(get(`${t.proxyUrl}/order/${i}`, { agent }));
      await until(`request ${i} waits`, () => t.proxy!.holdWaiting('web') === i + 1);
    }
    const app = await startStoppableApp('app', 0, { delayMs: () => 5 });
    expect((await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: 'app', url: app.url })).status).toBe(201);
    expect((await Promise.all(answers)).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(app.stats.paths).toEqual(['/order/0', '/order/1', '/order/2', '/order/3', '/order/4']);
  });

  test('a refused backend: requests wait and are served when something listens on its port', async () => {
    const port = await deadPort();
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: `http://127.0.0.1:${port}` }] }, { hold: { timeout: '5s' } }));
    const agent = clientAgent(3);
    const answers = [
      get(`${t.proxyUrl}/a`, { agent }),
      get(`${t.proxyUrl}/b`, { agent, method: 'POST', body: 'small body' }),
      get(`${t.proxyUrl}/c`, { agent, method: 'PUT', body: 'x'.repeat(2000) }),
    ];
    await until('3 wait after being refused', () => t.proxy!.holdWaiting('web') === 3);
    await sleep(300); // a retry tick or so, refused again
    const app = await startStoppableApp('app', port);
    expect((await Promise.all(answers)).map((a) => a.status)).toEqual([200, 200, 200]);
    expect([...app.stats.paths].sort()).toEqual(['/a', '/b', '/c']);
  });

  test('a refused backend that stays down: after hold.timeout the last error, 502 upstream_error', async () => {
    const port = await deadPort();
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: `http://127.0.0.1:${port}` }] }, { hold: { timeout: '2s' } }));
    const t0 = performance.now();
    const a = await get(`${t.proxyUrl}/a`);
    const ms = since(t0);
    console.log(`refused backend, hold.timeout 2s: ${a.status} ${String(a.headers['x-turnout-error'])} after ${ms.toFixed(0)} ms`);
    expect({ status: a.status, error: a.headers['x-turnout-error'] }).toEqual({ status: 502, error: 'upstream_error' });
    expect(ms).toBeGreaterThanOrEqual(1800);
    expect(ms).toBeLessThanOrEqual(2200);
    expect(await metricValue(t, 'turnout_hold_timeouts_total{service="web"}')).toBe(1);
  });
});

describe('visibility', () => {
  test('GET /v1/stream snapshots show the requests waiting per service', async () => {
    const t = await startTestTurnout(webService({ blue: [] }, { hold: { timeout: '10s' } }));
    const agent = clientAgent(2);
    const answers = [get(`${t.proxyUrl}/s/0`, { agent }), get(`${t.proxyUrl}/s/1`, { agent })];
    await until('2 wait', () => t.proxy!.holdWaiting('web') === 2);
    const res = await request(`${t.adminUrl}/v1/stream`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    type Snap = { services: { name: string; waiting: number }[] };
    const snaps = await readSnapshots<Snap>(res.body, () => true, 5000);
    const waiting = snaps.map((snap) => snap.services.find((s) => s.name === 'web')?.waiting ?? -1);
    expect(waiting[0]).toBe(2);
    const app = await startStoppableApp('app');
    expect((await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: 'app', url: app.url })).status).toBe(201);
    expect((await Promise.all(answers)).map((a) => a.status)).toEqual([200, 200]);
    expect(await metricValue(t, 'turnout_hold_waiting{service="web"}')).toBe(0);
    // Both waits were observed in the histogram.
    expect(await metricValue(t, 'turnout_hold_wait_seconds_count{service="web"}')).toBe(2);
  });
});

describe('a reset on a kept-alive connection (the app closed it as idle as the request arrived)', () => {
  // Guards the line between what waits and what fails: a bodiless GET is sent again after the hold;
  // a POST whose bytes reached the app's socket is never sent twice (the app may have read it), so
  // with hold on a POST takes a new connection and never meets the closing one.
  test.each([
    { hold: true, method: 'GET', body: undefined, status: 200, error: undefined, copies: 2, second: 'reset GET /second HTTP/1.1' },
    { hold: true, method: 'POST', body: 'order=1', status: 200, error: undefined, copies: 1, second: 'POST /second HTTP/1.1' },
    { hold: false, method: 'POST', body: 'order=1', status: 502, error: 'upstream_error', copies: 1, second: 'reset POST /second HTTP/1.1' },
  ])('hold $hold: $method gets $status', async ({ hold, method, body, status, error, copies, second }) => {
    const seen: string[] = [];
    const app = await startRawBackend((socket, index) => {
      let buf = '';
      let answered = false;
      socket.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const line = buf.slice(0, buf.indexOf('\r\n'));
        if (index === 0 && answered) {
          // The second request on the first connection: closed unread, as an idle close races it.
          seen.push(`reset ${line}`);
          socket.resetAndDestroy();
          return;
        }
        seen.push(line);
        buf = '';
        answered = true;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n${index === 0 ? '' : 'connection: close\r\n'}\r\nok`);
      });
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app.url }] }, hold ? { hold: { timeout: '5s', retryInterval: '100ms' } } : {}));
    const agent = clientAgent(1);
    expect((await get(`${t.proxyUrl}/warm`, { agent })).status).toBe(200);
    const t0 = performance.now();
    const a = await get(`${t.proxyUrl}/second`, { agent, method, ...(body !== undefined ? { body } : {}) });
    console.log(`kept-alive reset, hold ${hold}, ${method}: ${a.status} after ${since(t0).toFixed(0)} ms`);
    expect({ status: a.status, error: a.headers['x-turnout-error'] }).toEqual({ status, error });
    expect(seen.filter((l) => l.includes('/second'))).toHaveLength(copies);
    expect(seen[1]).toBe(second);
  });
});
