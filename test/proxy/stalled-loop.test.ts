import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, onTestFinished, test } from 'vitest';
import { startAppProcess } from '../helpers/app-process.js';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { parseRawResponse, rawExchange } from '../helpers/raw.js';
import { startTestTurnout } from '../helpers/turnout.js';

/*
 * A busy event loop (a rapid-reset burst of a thousand streams took a worker 1.5-2.3 s on a loaded
 * machine) must not turn into timeouts the backend did not earn. Deadlines are counted from the
 * engine's coarse clock, which the sweep sets every 50 ms: a request read at the end of a stall
 * was given `clock + timeout` from the clock of before the stall, already past, and the next sweep
 * (timers run before the poll phase that would have seen the connect or the answer) failed it
 * with 504 upstream_timeout. The stall here is made in this process (the data plane runs in it),
 * by spinning inside a callback of the proxy's own socket or of the backend.
 */

const STALL_MS = 600;

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // The event loop is stalled, as by a burst of work.
  }
}

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`;

describe('a stalled event loop', () => {
  test('a request read right after a stall gets its whole connect timeout', async () => {
    const b = await startBackend('b1');
    const t = await startTestTurnout(webService({ blue: [b] }, { timeouts: { connect: '200ms', response: '5s' } }));
    const server = t.proxy?.server;
    expect(server).toBeDefined();
    // The client connection's first read comes after the loop was busy for STALL_MS: the clock
    // the request's connect deadline is counted from is that old.
    server?.prependListener('connection', (s: Socket) => s.prependOnceListener('data', () => spin(STALL_MS)));
    const answer = parseRawResponse(await rawExchange(Number(new URL(t.proxyUrl).port), GET('/stall')));
    expect(answer.status).toBe(200);
    expect(b.hits).toBe(1);
  });

  test('a request read right after a stall gets its whole response timeout', async () => {
    // The backend answers in 150 ms; the response timeout is 400 ms from when the request was sent.
    const b = await startBackend('b1', (req, res) => {
      req.resume();
      setTimeout(() => res.end('late but in time'), 150);
    });
    const t = await startTestTurnout(webService({ blue: [b] }, { timeouts: { connect: '1s', response: '400ms' } }));
    const port = Number(new URL(t.proxyUrl).port);
    // A first request leaves a kept-alive connection to the backend: the next one is sent at once
    // (no connect), so its response deadline is set in the same read as its head.
    expect(parseRawResponse(await rawExchange(port, GET('/warm'))).status).toBe(200);
    t.proxy?.server.prependListener('connection', (s: Socket) => s.prependOnceListener('data', () => spin(STALL_MS)));
    const answer = parseRawResponse(await rawExchange(port, GET('/stall')));
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('late but in time');
  });

  test('an answer that arrived in time is relayed though the loop stalled past the response timeout', async () => {
    // A backend in its own process answers in 200 ms; the response timeout is 400 ms. From 120 ms
    // (a few sweeps after the deadline was set) the loop is busy in a read of another socket for
    // STALL_MS: the answer reaches the proxy's socket before its deadline, and is read only after.
    const app = await startAppProcess('slow', 'v1');
    const t = await startTestTurnout(webService({ blue: [{ id: 'slow', url: app.url }] }, { timeouts: { connect: '1s', response: '400ms' } }));
    const busy = net.createServer((s) => s.once('data', () => spin(STALL_MS)));
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void busy.close());
    const poke = net.connect((busy.address() as AddressInfo).port, '127.0.0.1');
    onTestFinished(() => void poke.destroy());
    await new Promise((resolve) => poke.once('connect', resolve));
    const exchange = rawExchange(Number(new URL(t.proxyUrl).port), GET('/slow?ms=200'));
    setTimeout(() => poke.write('x'), 120);
    const answer = parseRawResponse(await exchange);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).app).toBe('slow');
  });

  test('a backend that does not answer still times out, stall or not', async () => {
    const b = await startBackend('b1', (req) => {
      req.resume();
      spin(STALL_MS);
    });
    const t = await startTestTurnout(webService({ blue: [b] }, { timeouts: { connect: '1s', response: '300ms' } }));
    const started = performance.now();
    const answer = parseRawResponse(await rawExchange(Number(new URL(t.proxyUrl).port), GET('/mute')));
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.body).error.code).toBe('upstream_timeout');
    // Its 300 ms, counted after the stall at the latest: not much more.
    expect(performance.now() - started).toBeLessThan(STALL_MS + 300 + 1000);
  });
});
