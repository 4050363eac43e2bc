import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect, onTestFinished, test } from 'vitest';
import { clientAgent, get } from '../helpers/http.js';
import { startTestTurnout } from '../helpers/turnout.js';
import { sleep } from '../helpers/time.js';

/**
 * A backend (or a NAT or firewall in front of it) that forgets a connection idle for more than
 * `idleMs` without telling the client: a request arriving on it later is answered with a reset,
 * as a closed socket whose FIN never arrived would be. Answers every other request with 200 "ok".
 */
async function forgetfulBackend(idleMs: number): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let buf = '';
    let last = Date.now();
    socket.on('data', (d) => {
      if (Date.now() - last > idleMs) {
        socket.resetAndDestroy();
        return;
      }
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.slice(end + 4 + len);
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        last = Date.now();
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

async function postsSpacedOut(idle: string): Promise<{ statuses: number[]; connections: number }> {
  const b = await forgetfulBackend(300);
  const t = await startTestTurnout({
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { blue: [{ id: 'b1', url: b.url }] },
        timeouts: { idle },
        outlier: false,
      },
    },
  });
  const agent = clientAgent(1);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    statuses.push((await get(`${t.proxyUrl}/orders`, { agent, method: 'POST', body: 'x'.repeat(100) })).status);
    await sleep(400);
  }
  return { statuses, connections: b.connections() };
}

test('timeouts.idle below the backend’s idle limit: POSTs spaced past it all succeed on fresh connections', async () => {
  const r = await postsSpacedOut('150ms');
  expect(r.statuses).toEqual([200, 200, 200, 200]);
  expect(r.connections).toBe(4);
});

test('with the idle timeout above it, a POST meeting the forgotten connection fails (502): the setting matters', async () => {
  const r = await postsSpacedOut('4s');
  // Each reused connection was forgotten by the backend; the one opened after a reset is fresh.
  expect(r.statuses).toEqual([200, 502, 200, 502]);
});
