import type { Socket } from 'node:net';
import { expect, test } from 'vitest';
import { deadPort, startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { get } from '../helpers/http.js';
import type { Answer } from '../helpers/http.js';
import { readHead, startRawBackend } from '../helpers/raw.js';
import { startTestTurnout } from '../helpers/turnout.js';

/** The SPEC shape of an answer the proxy gives itself. */
function expectProxyError(res: Answer, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['x-turnout-error']).toBe(code);
  expect(res.headers['content-type']).toBe('application/json');
  const body = JSON.parse(res.text) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.message.length).toBeGreaterThan(0);
}

test('404 no_route: no route matches the request host', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout({
    services: { web: { routes: [{ host: 'app.example.com', pathPrefix: '/' }], pools: { blue: [{ id: 'b1', url: b.url }] }, outlier: false } },
  });
  expectProxyError(await get(`${t.proxyUrl}/`, { headers: { host: 'other.example.com' } }), 404, 'no_route');
  expect(b.hits).toBe(0);
  // The route itself works.
  expect((await get(`${t.proxyUrl}/`, { headers: { host: 'app.example.com' } })).status).toBe(200);
});

test('404 no_route: no route matches the request path', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout({
    services: { web: { routes: [{ host: '*', pathPrefix: '/app' }], pools: { blue: [{ id: 'b1', url: b.url }] }, outlier: false } },
  });
  expectProxyError(await get(`${t.proxyUrl}/other`), 404, 'no_route');
  expect(b.hits).toBe(0);
});

test('503 no_backend: the pool has no backend', async () => {
  const t = await startTestTurnout(webService({ blue: [] }));
  const res = await get(`${t.proxyUrl}/`, { headers: { 'x-request-id': 'req-503' } });
  expectProxyError(res, 503, 'no_backend');
  expect(res.headers['x-request-id']).toBe('req-503');
});

test('502 upstream_error: the only backend refuses the connection', async () => {
  const port = await deadPort();
  const t = await startTestTurnout(webService({ blue: [{ id: 'dead', url: `http://127.0.0.1:${port}` }] }));
  const res = await get(`${t.proxyUrl}/`);
  expectProxyError(res, 502, 'upstream_error');
  expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(t.runtime.backendView('web', 'dead')?.inFlight).toBe(0);
});

test.each([
  { method: 'GET', what: 'cut in the middle of the response headers', bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/pl' },
  { method: 'POST', what: 'cut in the middle of the response headers', bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/pl' },
  { method: 'GET', what: 'cut in the status line', bytes: 'HTTP/1.1 2' },
  { method: 'GET', what: 'closed with no byte of response', bytes: '' },
])('502 upstream_error: $method, the backend destroys the socket $what', async ({ method, bytes }) => {
  const raw = await startRawBackend((socket: Socket) => {
    void readHead(socket).then(() => {
      if (bytes === '') socket.destroy();
      else socket.write(bytes, () => socket.destroy());
    });
  });
  const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: raw.url }] }));
  const res = await get(`${t.proxyUrl}/`, method === 'POST' ? { method, body: 'hello' } : { method });
  expectProxyError(res, 502, 'upstream_error');
  expect(t.runtime.backendView('web', 'raw')?.inFlight).toBe(0);
});

test('502 upstream_error: the backend resets the connection (RST) after reading the request', async () => {
  const raw = await startRawBackend((socket: Socket) => {
    void readHead(socket).then(() => socket.resetAndDestroy());
  });
  const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: raw.url }] }));
  expectProxyError(await get(`${t.proxyUrl}/`), 502, 'upstream_error');
});

test('504 upstream_timeout: the backend never answers within timeouts.response (300ms)', async () => {
  let requests = 0;
  const raw = await startRawBackend((socket: Socket) => {
    void readHead(socket).then(() => requests++);
  });
  const t = await startTestTurnout(webService({ blue: [{ id: 'mute', url: raw.url }] }, { timeouts: { connect: '1s', response: '300ms' } }));
  const started = performance.now();
  const res = await get(`${t.proxyUrl}/`);
  const elapsed = performance.now() - started;
  expectProxyError(res, 504, 'upstream_timeout');
  expect(elapsed).toBeGreaterThanOrEqual(290);
  expect(elapsed).toBeLessThan(3000);
  // A timeout is not retried: the backend may be working on it.
  expect(requests).toBe(1);
  expect(t.runtime.backendView('web', 'mute')?.inFlight).toBe(0);
});
