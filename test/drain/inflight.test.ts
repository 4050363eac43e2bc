import net from 'node:net';
import { describe, expect, test } from 'vitest';
import { request } from 'undici';
import { startBackend } from '../helpers/backends.js';
import { clientAgent } from '../helpers/http.js';
import { startTestTurnout } from '../helpers/turnout.js';
import { sleep } from '../helpers/time.js';

describe('in-flight accounting', () => {
  test('returns to exactly 0 after client aborts, backend resets, timeouts and normal requests', async () => {
    let n = 0;
    const b = await startBackend('b1', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const kind = url.pathname.slice(1);
      if (kind === 'reset-before') return req.socket.destroy();
      if (kind === 'reset-mid') {
        res.writeHead(200, { 'content-length': '100000' });
        res.write(Buffer.alloc(1000));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      if (kind === 'hang') return; // never answers: the proxy's response timeout fires
      if (kind === 'slow') {
        const t = setTimeout(() => res.end('slow'), 300);
        res.on('close', () => clearTimeout(t));
        return;
      }
      n++;
      res.end('ok');
    });
    const t = await startTestTurnout({
      services: {
        web: {
          routes: [{ host: '*', pathPrefix: '/' }],
          pools: { blue: [{ id: 'b1', url: b.url }] },
          timeouts: { connect: '500ms', response: '400ms' },
          outlier: false,
        },
      },
    });
    const agent = clientAgent(32);
    const statuses: Record<string, number[]> = {};
    const record = (k: string, s: number): void => {
      (statuses[k] ??= []).push(s);
    };
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      work.push(request(`${t.proxyUrl}/ok`, { dispatcher: agent }).then(async (r) => (await r.body.text(), record('ok', r.statusCode))));
      work.push(
        request(`${t.proxyUrl}/reset-before`, { dispatcher: agent, method: 'POST', body: 'x' }).then(async (r) => (await r.body.text(), record('reset-before', r.statusCode))),
      );
      work.push(
        request(`${t.proxyUrl}/reset-mid`, { dispatcher: agent }).then(
          async (r) => r.body.text().then(() => record('reset-mid', r.statusCode), () => record('reset-mid', -1)),
          () => record('reset-mid', -1),
        ),
      );
      work.push(request(`${t.proxyUrl}/hang`, { dispatcher: agent }).then(async (r) => (await r.body.text(), record('hang', r.statusCode))));
      // Client aborts while waiting for the answer.
      const ac = new AbortController();
      work.push(request(`${t.proxyUrl}/slow`, { dispatcher: agent, signal: ac.signal }).then(() => record('abort', 0), () => record('abort', -1)));
      setTimeout(() => ac.abort(), 50);
      // Client that vanishes mid-request (raw socket destroyed after the headers).
      work.push(
        new Promise<void>((resolve) => {
          const url = new URL(t.proxyUrl);
          const s = net.connect(Number(url.port), url.hostname, () => {
            s.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\n');
            setTimeout(() => {
              s.destroy();
              resolve();
            }, 60);
          });
          s.on('error', () => resolve());
        }),
      );
    }
    await Promise.all(work);
    expect(statuses.ok).toEqual(Array(10).fill(200));
    expect(statuses['reset-before']).toEqual(Array(10).fill(502));
    expect(statuses.hang).toEqual(Array(10).fill(504));
    expect(statuses['reset-mid']).toEqual(Array(10).fill(-1));
    expect(statuses.abort).toEqual(Array(10).fill(-1));
    const end = Date.now() + 2000;
    while (Date.now() < end && (t.runtime.backendView('web', 'b1')?.inFlight ?? -1) !== 0) await sleep(20);
    expect(t.runtime.backendView('web', 'b1')?.inFlight).toBe(0);
    expect(t.proxy!.inFlight).toBe(0);
    expect(n).toBe(10);
  });
});
