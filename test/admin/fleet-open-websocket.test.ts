import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { describe, expect, onTestFinished, test } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { webService } from '../helpers/config.js';
import { fleetWorkers, startTestTurnout } from '../helpers/turnout.js';
import { until } from '../helpers/time.js';

describe('a supervisor counts its workers’ open connections (2 workers)', () => {
  // Regression: an upgraded connection leaves the proxy's
  // connection set, and a worker reports that set's size as its open connections, so an open
  // WebSocket counts for nothing in /v1/fleet and in the supervisor's fewest-open choice of worker.
  test('an open WebSocket is one of its worker’s open connections', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m.toString())));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'w', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }] }), { workers: 2 });
    const ws = new WebSocket(`${t.proxyUrl.replace('http', 'ws')}/chat`);
    onTestFinished(() => ws.terminate());
    await once(ws, 'open');
    ws.send('hi');
    await once(ws, 'message');
    // The worker reports the upgrade as in flight; its open connections should say 1 as well.
    await until('a worker reports the WebSocket in flight', async () => (await fleetWorkers(t)).some((w) => w.inFlight === 1));
    const serving = (await fleetWorkers(t)).find((w) => w.inFlight === 1);
    expect(serving?.connections).toEqual({ total: 1, open: 1 });
  });
});
