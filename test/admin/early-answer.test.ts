import http from 'node:http';
import { describe, expect, test } from 'vitest';
import { freePort, spawnTurnout, tempDir, waitReady, writeYaml } from '../helpers/serve.js';
import { TOKEN } from '../helpers/turnout.js';

/** What a piped file does: a 3 MiB body written 16 KiB at a time, each write after the last drained. */
const PIECE = Buffer.alloc(16 * 1024, 0x61);
const PIECES = (3 * 1024 * 1024) / PIECE.length;
const TRIES = 20;

interface Outcome {
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
}

function streamBody(port: number, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/v1/services/web/split', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(PIECE.length * PIECES), ...headers } });
    let settled = false;
    const done = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      resolve(o);
    };
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => done({ status: res.statusCode, body }));
      res.on('error', (err) => done({ error: err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message }));
    let sent = 0;
    const pump = (): void => {
      while (sent < PIECES) {
        sent++;
        const last = sent === PIECES;
        const ok = last ? (req.end(PIECE), true) : req.write(PIECE);
        if (last) return;
        if (!ok) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

describe('early answers of the admin API (SPEC "Admin API")', () => {
  test.each([
    { name: 'no token: 401', headers: {} as Record<string, string>, status: 401, code: 'unauthorized' },
    { name: 'a body over the limit: 413', headers: { authorization: `Bearer ${TOKEN}` }, status: 413, code: 'payload_too_large' },
  ])('$name reaches a client still sending 3 MiB, 20 of 20', async ({ headers, status, code }) => {
    // A real `turnout serve`, as a deploy tool meets it: the client in this process, the admin API in that one.
    const dir = await tempDir();
    const port = await freePort();
    const file = await writeYaml(dir, 'turnout.yaml', {
      listen: { host: '127.0.0.1', port: await freePort() },
      admin: { host: '127.0.0.1', port, token: TOKEN },
      state: { store: 'memory' },
      services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'b', url: 'http://127.0.0.1:1' }] } } },
    });
    const proc = spawnTurnout(['serve', '--config', file]);
    await waitReady(proc, port);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < TRIES; i++) outcomes.push(await streamBody(port, headers));
    const got = outcomes.filter((o) => o.status === status && o.body !== undefined && o.body.includes(`"code":"${code}"`)).length;
    expect(got, JSON.stringify(outcomes.filter((o) => o.status !== status).slice(0, 3))).toBe(TRIES);
  }, 60_000);
});
