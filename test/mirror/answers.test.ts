import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { describe, expect, onTestFinished, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { clientAgent } from '../helpers/http.js';
import { until } from '../helpers/time.js';
import { startTestTurnout } from '../helpers/turnout.js';

// A copy's answer is read and discarded: only its framing is walked, so a kept-alive connection
// to the mirrored backend carries the next copy. Raw answers, as a backend may frame them.

/** A raw HTTP/1.1 server answering each request head with `answer`; counts connections and requests. */
async function rawBackend(answer: string, closes: boolean): Promise<{ url: string; connections: number; requests: number }> {
  const stats = { url: '', connections: 0, requests: 0 };
  const server = net.createServer((socket) => {
    stats.connections++;
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        buf = buf.slice(i + 4);
        stats.requests++;
        socket.write(answer);
        if (closes) socket.end();
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  stats.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stats;
}

describe("a copy's answer, whatever its framing", () => {
  test.for<[string, string, boolean]>([
    ['Content-Length', 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello', true],
    ['chunked, with a trailer', 'HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n', true],
    ['a 100 Continue first', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n', true],
    ['ended by the close', 'HTTP/1.1 200 OK\r\n\r\nuntil the end', false],
  ])('%s: counted with its status; the connection kept when the framing allows', async ([, answer, reused]) => {
    const blue = await startBackend('blue-1');
    const green = await rawBackend(answer, !reused);
    const t = await startTestTurnout(webService({ blue: [blue], green: [{ id: 'green-1', url: green.url }] }, { split: { blue: 100, green: 0 }, mirror: { pool: 'green', percent: 100 } }));
    const agent = clientAgent(1);
    for (let i = 0; i < 10; i++) {
      const res = await request(`${t.proxyUrl}/x/${i}`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      await res.body.text();
      await until(`copy ${i} answered`, () => t.telemetry.mirrorTotals('web', 'green').requests === i + 1, 3000);
    }
    expect(green.requests).toBe(10);
    expect(t.telemetry.mirrorTotals('web', 'green').errors).toBe(0);
    const status = answer.match(/HTTP\/1\.1 (\d+)/g)?.at(-1)?.slice(9);
    expect(await t.telemetry.metricsText()).toContain(`turnout_mirror_requests_total{service="web",pool="green",code="${status}"} 10`);
    expect(green.connections).toBe(reused ? 1 : 10);
  });

  test('an answer that is not HTTP counts as 502, and the clients never notice', async () => {
    const blue = await startBackend('blue-1');
    const green = await rawBackend('SSH-2.0-OpenSSH\r\n\r\n', false);
    const t = await startTestTurnout(webService({ blue: [blue], green: [{ id: 'green-1', url: green.url }] }, { split: { blue: 100, green: 0 }, mirror: { pool: 'green', percent: 100 } }));
    const agent = clientAgent(1);
    for (let i = 0; i < 3; i++) {
      const res = await request(`${t.proxyUrl}/x/${i}`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    await until('3 failed copies', () => t.telemetry.mirrorTotals('web', 'green').errors === 3, 3000);
    expect(await t.telemetry.metricsText()).toContain('turnout_mirror_requests_total{service="web",pool="green",code="502"} 3');
  });
});
