import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { get } from '../helpers/http.js';
import { parseRawResponse, rawExchange } from '../helpers/raw.js';
import { startTestTurnout } from '../helpers/turnout.js';

type Seen = { backend: string; headers: Record<string, string | undefined> };

/** Sends raw request bytes (so no client library adds or refuses headers) and answers what the backend saw. */
async function rawSeen(port: number, head: string[]): Promise<Seen> {
  const res = parseRawResponse(await rawExchange(port, `${head.join('\r\n')}\r\n\r\n`));
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body) as Seen;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

test('X-Forwarded-For is appended to the one the client sent; X-Forwarded-Proto and -Host are set', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const res = await get(`${t.proxyUrl}/h`, {
    headers: { host: 'shop.example.com:8443', 'x-forwarded-for': '203.0.113.7, 10.0.0.1', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil.example' },
  });
  const seen = JSON.parse(res.text) as Seen;
  expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 10.0.0.1, 127.0.0.1');
  // What the client claims about proto and host is replaced, never passed on.
  expect(seen.headers['x-forwarded-proto']).toBe('http');
  expect(seen.headers['x-forwarded-host']).toBe('shop.example.com:8443');
});

test('several X-Forwarded-For lines are joined in order, then the client address appended', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const seen = await rawSeen(portOf(t.proxyUrl), [
    'GET /h HTTP/1.1',
    'Host: a.example',
    'X-Forwarded-For: 198.51.100.1',
    'X-Forwarded-For: 198.51.100.2',
    'Connection: close',
  ]);
  expect(seen.headers['x-forwarded-for']).toBe('198.51.100.1, 198.51.100.2, 127.0.0.1');
});

test('no X-Forwarded-For from the client: it is the client address alone', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const seen = JSON.parse((await get(`${t.proxyUrl}/h`)).text) as Seen;
  expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
});

test('hop-by-hop headers, and the ones Connection names, do not reach the backend; end-to-end ones do', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const seen = await rawSeen(portOf(t.proxyUrl), [
    'GET /h HTTP/1.1',
    'Host: a.example',
    'Connection: close, X-Custom, x-other',
    'X-Custom: secret',
    'X-Other: also secret',
    'Keep-Alive: timeout=5, max=100',
    'TE: trailers',
    'Upgrade: h2c',
    'Proxy-Connection: keep-alive',
    'Proxy-Authorization: Basic Zm9vOmJhcg==',
    'Trailer: X-Checksum',
    'X-End-To-End: kept',
    'Accept: text/plain',
  ]);
  for (const h of ['x-custom', 'x-other', 'keep-alive', 'te', 'upgrade', 'proxy-connection', 'proxy-authorization', 'trailer']) {
    expect(seen.headers[h], h).toBeUndefined();
  }
  // The proxy speaks keep-alive to the backend on its own terms, never the client's Connection header.
  expect(seen.headers.connection ?? 'keep-alive').toBe('keep-alive');
  expect(seen.headers['x-end-to-end']).toBe('kept');
  expect(seen.headers.accept).toBe('text/plain');
});

test('end-to-end fields the proxy has no rule for reach the backend, Set-Cookie in a request included', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const seen = await rawSeen(portOf(t.proxyUrl), ['GET /h HTTP/1.1', 'Host: a.example', 'Connection: close', 'Set-Cookie: a=1', 'Cookie: b=2', 'X-Anything: 3']);
  // Node's parser gives set-cookie as a list.
  expect(seen.headers['set-cookie']).toEqual(['a=1']);
  expect(seen.headers.cookie).toBe('b=2');
  expect(seen.headers['x-anything']).toBe('3');
});

test('hop-by-hop headers from the backend, and the ones its Connection names, do not reach the client', async () => {
  const b = await startBackend('b1', (req, res) => {
    req.resume();
    res.writeHead(200, {
      connection: 'keep-alive, x-backend-secret',
      'x-backend-secret': 'internal',
      'keep-alive': 'timeout=5',
      'proxy-authenticate': 'Basic',
      'x-kept': 'yes',
      'content-length': 2,
    });
    res.end('ok');
  });
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const res = parseRawResponse(await rawExchange(portOf(t.proxyUrl), 'GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n'));
  expect(res.status).toBe(200);
  expect(res.body).toBe('ok');
  expect(res.headers['x-kept']).toBe('yes');
  for (const h of ['x-backend-secret', 'keep-alive', 'proxy-authenticate']) expect(res.headers[h], h).toBeUndefined();
  // The client asked to close; nothing of the backend's Connection header leaks.
  expect(res.headers.connection).toBe('close');
});

test('Host is passed through by default', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const seen = JSON.parse((await get(`${t.proxyUrl}/h`, { headers: { host: 'app.example.com' } })).text) as Seen;
  expect(seen.headers.host).toBe('app.example.com');
  expect(seen.headers['x-forwarded-host']).toBe('app.example.com');
});

test("preserveHost: false sends the backend's own host:port; X-Forwarded-Host keeps the client's", async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }, { preserveHost: false }));
  const seen = JSON.parse((await get(`${t.proxyUrl}/h`, { headers: { host: 'app.example.com' } })).text) as Seen;
  expect(seen.headers.host).toBe(`127.0.0.1:${b.port}`);
  expect(seen.headers['x-forwarded-host']).toBe('app.example.com');
});

test('X-Request-Id is passed through when the client sends one, generated (a UUID) when not', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'b1', url: b.url }] }));
  const given = JSON.parse((await get(`${t.proxyUrl}/h`, { headers: { 'x-request-id': 'abc-123' } })).text) as Seen;
  expect(given.headers['x-request-id']).toBe('abc-123');

  const ids = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const seen = JSON.parse((await get(`${t.proxyUrl}/h`)).text) as Seen;
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    ids.add(seen.headers['x-request-id'] as string);
  }
  expect(ids.size).toBe(3);
});
