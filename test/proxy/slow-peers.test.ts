import http from 'node:http';
import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { startTestTurnout } from '../helpers/turnout.js';

/*
 * timeouts.response bounds how long the backend takes to answer, not how long a client takes to
 * send or read: a slow client on a long upload or a big download must not get a 504 or a cut
 * response while the backend is doing nothing wrong.
 */

const RESPONSE_TIMEOUT = { connect: '1s', response: '300ms' };

test('an upload that takes longer than timeouts.response (5 chunks 200 ms apart) still succeeds', async () => {
  const b = await startBackend('sink', (req, res) => {
    let bytes = 0;
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('end', () => res.end(JSON.stringify({ bytes })));
  });
  const t = await startTestTurnout(webService({ blue: [{ id: 'sink', url: b.url }] }, { timeouts: RESPONSE_TIMEOUT }));
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`${t.proxyUrl}/upload`, { method: 'POST', headers: { 'content-length': 5000 } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    let n = 0;
    const tick = (): void => {
      req.write('x'.repeat(1000));
      if (++n === 5) req.end();
      else setTimeout(tick, 200);
    };
    tick();
  });
  expect(answer).toEqual({ status: 200, body: JSON.stringify({ bytes: 5000 }) });
});

test('a client that stops reading a download for longer than timeouts.response still gets every byte', async () => {
  const TOTAL = 16 * 1024 * 1024;
  const b = await startBackend('source', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': TOTAL });
    const chunk = Buffer.alloc(64 * 1024, 7);
    let left = TOTAL / chunk.length;
    const write = (): void => {
      while (left > 0) {
        left--;
        if (!res.write(chunk)) return void res.once('drain', write);
      }
      res.end();
    };
    write();
  });
  const t = await startTestTurnout(webService({ blue: [{ id: 'source', url: b.url }] }, { timeouts: RESPONSE_TIMEOUT }));
  const got = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
    http
      .get(`${t.proxyUrl}/download`, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          if (bytes === 0) {
            // Long enough for the backend side to fill every buffer and wait on backpressure.
            res.pause();
            setTimeout(() => res.resume(), 800);
          }
          bytes += d.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error(`response cut after ${bytes} bytes`)));
      })
      .on('error', reject);
  });
  expect(got).toEqual({ status: 200, bytes: TOTAL });
});
