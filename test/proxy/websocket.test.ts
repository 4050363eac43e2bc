import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, onTestFinished } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { deadPort } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { startTestTurnout } from '../helpers/turnout.js';

/** A WebSocket echo server on 127.0.0.1:0: greets, echoes text prefixed with its id, closes with 4000 on "close-me". */
async function startEchoBackend(id: string): Promise<{ url: string; connections: () => number }> {
  const server = http.createServer((_req, res) => res.end('not a websocket'));
  const wss = new WebSocketServer({ server });
  let count = 0;
  wss.on('connection', (ws, req) => {
    count++;
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'close-me') return ws.close(4000, 'server says bye');
      ws.send(isBinary ? data : `${id}:${data.toString()}`, { binary: isBinary });
    });
    ws.send(`${id}:hello ${req.headers['x-forwarded-for'] ?? '-'}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => count };
}

/** Resolves with the next message of `ws` as text. */
function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(data.toString()));
    ws.once('error', reject);
  });
}

test('a WebSocket echoes through the proxy and counts as one in flight on its backend while open', async () => {
  const echo = await startEchoBackend('ws-1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'ws-1', url: echo.url }] }));
  expect(t.runtime.backendView('web', 'ws-1')?.inFlight).toBe(0);

  const ws = new WebSocket(`${t.proxyUrl.replace('http', 'ws')}/socket`);
  onTestFinished(() => ws.terminate());
  const greeting = nextMessage(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  expect(await greeting).toBe('ws-1:hello 127.0.0.1');
  expect(t.runtime.backendView('web', 'ws-1')?.inFlight).toBe(1);

  for (const text of ['one', 'two', 'x'.repeat(100_000)]) {
    const reply = nextMessage(ws);
    ws.send(text);
    expect(await reply).toBe(`ws-1:${text}`);
  }
  const binary = Buffer.from([0, 1, 2, 255]);
  const reply = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
  ws.send(binary);
  expect(Buffer.compare(await reply, binary)).toBe(0);
  expect(t.runtime.backendView('web', 'ws-1')?.inFlight).toBe(1);
  expect(t.proxy!.inFlight).toBe(1);

  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.close(1000, 'bye');
  expect(await closed).toBe(1000);
  // The proxy's side of the socket closes independently of the client's 'close': wait for the
  // backend's idle event (or a bounded deadline) rather than sleeping.
  expect(await t.runtime.waitFor(() => t.runtime.backendView('web', 'ws-1')?.inFlight === 0, Date.now() + 2000)).toBe(true);
  expect(t.proxy!.inFlight).toBe(0);
  expect(echo.connections()).toBe(1);
});

test('each of several WebSockets counts once; the count returns to 0 when the backend closes them', async () => {
  const echo = await startEchoBackend('ws-1');
  const t = await startTestTurnout(webService({ blue: [{ id: 'ws-1', url: echo.url }] }));
  const sockets = await Promise.all(
    Array.from({ length: 3 }, async () => {
      const ws = new WebSocket(`${t.proxyUrl.replace('http', 'ws')}/socket`);
      onTestFinished(() => ws.terminate());
      const greeting = nextMessage(ws);
      expect(await greeting).toBe('ws-1:hello 127.0.0.1');
      return ws;
    }),
  );
  expect(t.runtime.backendView('web', 'ws-1')?.inFlight).toBe(3);
  // Closed from the backend's side this time: the proxy must notice too.
  const closes = sockets.map((ws) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code))));
  for (const ws of sockets) ws.send('close-me');
  expect(await Promise.all(closes)).toEqual([4000, 4000, 4000]);
  expect(await t.runtime.waitFor(() => t.runtime.backendView('web', 'ws-1')?.inFlight === 0, Date.now() + 2000)).toBe(true);
  expect(t.proxy!.inFlight).toBe(0);
  expect(echo.connections()).toBe(3);
});

test('a WebSocket upgrade to a backend that refuses the connection gets 502 upstream_error and leaves nothing in flight', async () => {
  const port = await deadPort();
  const t = await startTestTurnout(webService({ blue: [{ id: 'dead', url: `http://127.0.0.1:${port}` }] }));
  const ws = new WebSocket(`${t.proxyUrl.replace('http', 'ws')}/socket`);
  onTestFinished(() => ws.terminate());
  const answer = await new Promise<{ status: number; error: string | undefined; body: string }>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, error: res.headers['x-turnout-error'] as string | undefined, body }));
    });
    ws.once('open', () => reject(new Error('the upgrade should have failed')));
    ws.once('error', reject);
  });
  expect(answer.status).toBe(502);
  expect(answer.error).toBe('upstream_error');
  expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'upstream_error' } });
  expect(await t.runtime.waitFor(() => t.runtime.backendView('web', 'dead')?.inFlight === 0, Date.now() + 2000)).toBe(true);
  expect(t.proxy!.inFlight).toBe(0);
});
