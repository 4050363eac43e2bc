import { Client } from 'undici';
import { expect, onTestFinished, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { parseRawResponse, rawExchange } from '../helpers/raw.js';
import { startTestTurnout } from '../helpers/turnout.js';

function portOf(url: string): number {
  return Number(new URL(url).port);
}

test.each([
  {
    what: 'both Content-Length and Transfer-Encoding (request smuggling)',
    head: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
  },
  { what: 'two different Content-Length headers', head: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nhello' },
  { what: 'a Transfer-Encoding other than chunked last', head: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n' },
  { what: 'a space before the header colon', head: 'GET / HTTP/1.1\r\nHost: a\r\nX-Bad : 1\r\n\r\n' },
  { what: 'a bare LF line ending inside the headers', head: 'GET / HTTP/1.1\r\nHost: a\nX-Evil: 1\r\n\r\n' },
])('a request with $what is refused with 400 and never reaches the backend', async ({ head }) => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const res = parseRawResponse(await rawExchange(portOf(t.proxyUrl), head));
  expect(res.status).toBe(400);
  expect(res.headers.connection).toBe('close');
  expect(b.hits).toBe(0);
});

test('headers larger than listen.maxHeaderSize get 431 and never reach the backend', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout({ ...webService({ blue: [{ id: 'b1', url: b.url }] }), listen: { host: '127.0.0.1', port: 0, maxHeaderSize: 4096 } });
  const big = `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(8192)}\r\nConnection: close\r\n\r\n`;
  const res = parseRawResponse(await rawExchange(portOf(t.proxyUrl), big));
  expect(res.status).toBe(431);
  expect(b.hits).toBe(0);
  // Just under the limit still passes.
  const fits = `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(3000)}\r\nConnection: close\r\n\r\n`;
  expect(parseRawResponse(await rawExchange(portOf(t.proxyUrl), fits)).status).toBe(200);
  expect(b.hits).toBe(1);
});

test('a keep-alive client sends 100 requests on one connection', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  let accepted = 0;
  t.proxy!.server.on('connection', () => accepted++);
  const client = new Client(t.proxyUrl, { pipelining: 1, keepAliveTimeout: 10_000 });
  onTestFinished(() => client.destroy());
  for (let i = 0; i < 100; i++) {
    const res = await client.request({ path: `/k/${i}`, method: 'GET' });
    expect(res.statusCode).toBe(200);
    expect(res.headers.connection).not.toBe('close');
    await res.body.text();
  }
  expect(accepted).toBe(1);
  expect(b.hits).toBe(100);
});

test('pipelined requests on one connection are answered in order', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const reqs = ['/p/1', '/slow?ms=100', '/p/3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join('');
  const text = await rawExchange(portOf(t.proxyUrl), `${reqs}GET /p/4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  const paths = [...text.matchAll(/"path":"([^"]+)"/g)].map((m) => m[1]);
  expect(paths).toEqual(['/p/1', '/slow', '/p/3', '/p/4']);
  expect(text.match(/HTTP\/1\.1 200 OK\r\n/g)).toHaveLength(4);
});
