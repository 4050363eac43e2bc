import net from 'node:net';
import type { Socket } from 'node:net';
import { request } from 'undici';
import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { clientAgent, get } from '../helpers/http.js';
import { runRequests } from '../helpers/load.js';
import { startRawBackend } from '../helpers/raw.js';
import type { RawBackend } from '../helpers/raw.js';
import { seeded } from '../helpers/seeded.js';
import { startTestTurnout } from '../helpers/turnout.js';
import type { Turnout } from '../../src/app.js';

/*
 * No socket error may crash the process or leak an in-flight count (STYLE: never let an emitter
 * 'error' go unhandled). Backends and clients misbehave at every point of an exchange; afterwards
 * the proxy still answers and every in-flight count is back to 0. An unhandled 'error' event or a
 * rejected promise fails the run (vitest reports them as errors).
 */

const OK_RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Backend: chaos\r\n\r\nok';

/**
 * Answers each request on a connection with a misbehaviour drawn from `seed`: close or reset at
 * once, cut the status line or the headers, send headers and part of the body then close or reset,
 * never answer, or answer properly (keep-alive). Some connections are closed as soon as accepted.
 */
function startChaosBackend(seed: number): Promise<RawBackend> {
  const rand = seeded(seed);
  const act = (socket: Socket, n: number): boolean => {
    switch (n) {
      case 0:
        socket.destroy();
        return false;
      case 1:
        socket.resetAndDestroy();
        return false;
      case 2:
        socket.write('HTTP/1.1 200 OK\r\nContent-Le', () => socket.destroy());
        return false;
      case 3:
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`, () => socket.destroy());
        return false;
      case 4:
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`, () => socket.resetAndDestroy());
        return false;
      case 5:
        return false; // never answers: the proxy's response timeout ends it
      default:
        socket.write(OK_RESPONSE);
        return true;
    }
  };
  return startRawBackend((socket) => {
    if (rand() < 0.1) return void socket.destroy();
    let buf = Buffer.alloc(0);
    let live = true;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (live) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/content-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? '0');
        if (buf.length < end + 4 + len) return;
        buf = buf.subarray(end + 4 + len);
        live = act(socket, Math.floor(rand() * 9));
      }
    });
  });
}

/** Every backend's in-flight count and the proxy's own are 0 (waits, bounded, for the last closes to land). */
async function expectAllIdle(t: Turnout, backends: [string, string][]): Promise<void> {
  const idle = (): boolean => t.proxy!.inFlight === 0 && backends.every(([svc, id]) => t.runtime.backendView(svc, id)?.inFlight === 0);
  await t.runtime.waitFor(idle, Date.now() + 3000);
  expect({ proxy: t.proxy!.inFlight, backends: backends.map(([svc, id]) => [id, t.runtime.backendView(svc, id)?.inFlight]) }).toEqual({
    proxy: 0,
    backends: backends.map(([, id]) => [id, 0]),
  });
}

/** Opens a raw connection, sends `bytes`, then acts as `then` says; resolves when the socket is closed. Bounded by 3 s. */
function rawClient(port: number, bytes: string, then: (socket: Socket) => void): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      then(socket);
    });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('backends that close, reset, cut or never answer at random points: every request is answered or cut, and nothing leaks', async () => {
  const c1 = await startChaosBackend(1);
  const c2 = await startChaosBackend(2);
  const ok = await startBackend('ok-1');
  const t = await startTestTurnout({
    services: {
      chaos: {
        routes: [{ host: 'chaos.test', pathPrefix: '/' }],
        pools: { blue: [{ id: 'c1', url: c1.url }, { id: 'c2', url: c2.url }] },
        outlier: false,
        timeouts: { connect: '1s', response: '300ms' },
      },
      ok: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'ok-1', url: ok.url }] }, outlier: false },
    },
  });
  const results = await runRequests(t.proxyUrl, {
    count: 100,
    connections: 8,
    headers: { host: 'chaos.test' },
    method: 'POST',
    path: (i) => `/c/${i}`,
    body: (i) => `body ${i}`,
  });
  const gets = await runRequests(t.proxyUrl, { count: 60, connections: 8, headers: { host: 'chaos.test' }, path: (i) => `/g/${i}` });
  const all = [...results, ...gets];
  expect(all).toHaveLength(160);
  const tally: Record<string, number> = {};
  for (const r of all) {
    // 200 with the whole body; a proxy error; or (status 0) a response cut after its headers were sent.
    expect([0, 200, 502, 504]).toContain(r.status);
    if (r.status === 200) expect(r.text).toBe('ok');
    if (r.status === 502) expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'upstream_error' } });
    if (r.status === 504) expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'upstream_timeout' } });
    tally[r.status] = (tally[r.status] ?? 0) + 1;
  }
  // The schedule is seeded, so every kind of outcome shows up.
  expect(Object.keys(tally).sort()).toEqual(['0', '200', '502', '504']);

  // The proxy still answers, and nothing is left counted in flight.
  const after = await get(`${t.proxyUrl}/still-there`);
  expect(after.status).toBe(200);
  expect(after.headers['x-backend']).toBe('ok-1');
  await expectAllIdle(t, [
    ['chaos', 'c1'],
    ['chaos', 'c2'],
    ['ok', 'ok-1'],
  ]);
});

test('clients that abort mid-request and mid-response: the proxy keeps answering and nothing leaks', async () => {
  const ok = await startBackend('ok-1');
  const bulk = await startBackend('bulk-1', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 8 * 1024 * 1024 });
    const chunk = Buffer.alloc(64 * 1024, 1);
    let left = 128;
    const write = (): void => {
      while (left > 0) {
        left--;
        if (!res.write(chunk)) return void res.once('drain', write);
      }
      res.end();
    };
    res.on('close', () => (left = 0));
    write();
  });
  const t = await startTestTurnout({
    services: {
      ok: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'ok-1', url: ok.url }] }, outlier: false },
      bulk: { routes: [{ host: 'bulk.test', pathPrefix: '/' }], pools: { blue: [{ id: 'bulk-1', url: bulk.url }] }, outlier: false },
    },
  });
  const port = Number(new URL(t.proxyUrl).port);
  const agent = clientAgent(8);
  const rand = seeded(7);
  const destroyAfter = (ms: number) => (s: Socket) => setTimeout(() => s.destroy(), ms);
  const scenarios: (() => Promise<void>)[] = [
    // mid-request: half a request head, then gone
    () => rawClient(port, 'GET /half HTTP/1.1\r\nHost: a\r\nX-Long', destroyAfter(rand() * 20)),
    // mid-request: the head and part of a declared 100 kB body, then gone (the backend waits for the rest)
    () => rawClient(port, `POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n${'b'.repeat(1000)}`, destroyAfter(rand() * 30)),
    // the same, with a reset instead of a close
    () => rawClient(port, `POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n${'b'.repeat(1000)}`, (s) => setTimeout(() => s.resetAndDestroy(), rand() * 30)),
    // waiting for a slow backend, then gone
    () => rawClient(port, 'GET /slow?ms=2000 HTTP/1.1\r\nHost: a\r\n\r\n', destroyAfter(20 + rand() * 50)),
    // mid-response: read the start of an 8 MiB download, then gone
    () =>
      rawClient(port, 'GET /bulk HTTP/1.1\r\nHost: bulk.test\r\n\r\n', (s) => {
        s.once('data', () => (rand() < 0.5 ? s.destroy() : s.resetAndDestroy()));
      }),
    // mid-response through a client library: abort after the headers arrived
    async () => {
      const ac = new AbortController();
      const res = await request(`${t.proxyUrl}/bulk`, { headers: { host: 'bulk.test' }, signal: ac.signal, dispatcher: agent });
      expect(res.statusCode).toBe(200);
      ac.abort();
      await res.body.text().catch(() => undefined);
    },
    // abort before any answer
    async () => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 10 + rand() * 40);
      await request(`${t.proxyUrl}/slow?ms=2000`, { signal: ac.signal, dispatcher: agent }).catch(() => undefined);
    },
  ];
  // 10 rounds of every scenario, 7 at a time.
  for (let round = 0; round < 10; round++) await Promise.all(scenarios.map((s) => s()));

  const after = await runRequests(t.proxyUrl, { count: 20, connections: 4 });
  expect(after.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
  await expectAllIdle(t, [
    ['ok', 'ok-1'],
    ['bulk', 'bulk-1'],
  ]);
});
