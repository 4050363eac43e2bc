import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { stringify } from 'yaml';
import { startTurnout } from '../../../src/app.js';
import type { Turnout } from '../../../src/app.js';
import { parseConfigText } from '../../../src/config/index.js';
import { startBackend } from '../../helpers/backends.js';
import type { TestBackend } from '../../helpers/backends.js';
import { hasOpenssl, makeCert } from '../../helpers/tls.js';
import { testDocument } from '../../helpers/turnout.js';

/*
 * HTTP/2 semantics with real clients (issue 15, acceptance 1): curl --http2 over TLS and
 * curl --http2-prior-knowledge on the plain listener get the same answers as curl --http1.1 (the
 * status, the headers that matter, the body byte for byte), for each rule of the request path.
 */

const run = promisify(execFile);
const MiB = 1024 * 1024;
const BIG = 100 * MiB;
const CHUNK = 64 * 1024;

/** Chunk i of the deterministic big body: 64 KiB of one byte value, stamped with its index. */
function chunkOf(i: number): Buffer {
  const b = Buffer.alloc(CHUNK, i % 251);
  b.writeUInt32BE(i, 0);
  return b;
}
const bigSha = ((): (() => string) => {
  let memo: string | undefined;
  return () => {
    if (memo === undefined) {
      const h = createHash('sha256');
      for (let i = 0; i < BIG / CHUNK; i++) h.update(chunkOf(i));
      memo = h.digest('hex');
    }
    return memo;
  };
})();

/** The test app: each path one behaviour the proxy must keep. */
function app(req: IncomingMessage, res: ServerResponse, b: TestBackend): void {
  const url = new URL(req.url ?? '/', 'http://x');
  switch (url.pathname) {
    case '/big': {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG });
      if (req.method === 'HEAD') return void res.end();
      let i = 0;
      const more = (): void => {
        while (i < BIG / CHUNK) if (!res.write(chunkOf(i++))) return void res.once('drain', more);
        res.end();
      };
      return more();
    }
    case '/upload': {
      const h = createHash('sha256');
      let bytes = 0;
      req.on('data', (d: Buffer) => {
        bytes += d.length;
        h.update(d);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha: h.digest('hex') })));
      return;
    }
    case '/hints':
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end('after hints');
    case '/stream': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const tick = setInterval(() => {
        res.write(`part ${n}\n`);
        if (++n === 5) {
          clearInterval(tick);
          res.end();
        }
      }, 150);
      res.on('close', () => clearInterval(tick));
      return;
    }
    case '/nocontent':
      res.writeHead(204, { 'x-backend': b.id });
      return void res.end();
    case '/notmodified':
      res.writeHead(304, { etag: '"v1"', 'x-backend': b.id });
      return void res.end();
    default: {
      req.resume();
      const body = JSON.stringify({ backend: b.id, method: req.method, path: url.pathname, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': b.id });
      res.end(req.method === 'HEAD' ? undefined : body);
    }
  }
}

type Mode = 'h1' | 'h2c' | 'h1-tls' | 'h2-tls';
const MODES: readonly Mode[] = ['h1', 'h2c', 'h1-tls', 'h2-tls'];

interface Answer {
  readonly version: string;
  /** Every status line, 1xx first. */
  readonly statuses: number[];
  readonly status: number;
  /** Final headers, names lower case. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

let dir = '';
let blue: TestBackend;
let green: TestBackend;
let plain: Turnout;
let secure: Turnout;
const tlsOk = hasOpenssl();

/** Services: `web` (blue 100 %, green 0 %, sticky, header override) and `empty` (no backend) on /empty. */
function doc(): Record<string, unknown> {
  return {
    services: {
      empty: { routes: [{ host: '*', pathPrefix: '/empty' }], pools: { main: [] }, outlier: false },
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { blue: [{ id: blue.id, url: blue.url }], green: [{ id: green.id, url: green.url }] },
        split: { blue: 100, green: 0 },
        sticky: true,
        headerOverride: true,
        outlier: false,
        timeouts: { connect: '1s', response: '30s' },
      },
    },
  };
}

/** One curl call in `mode`: the answer as curl saw it. */
async function curl(mode: Mode, path: string, extra: readonly string[] = []): Promise<Answer> {
  const base = mode.endsWith('tls') ? secure.proxyUrl.replace('http://', 'https://') : plain.proxyUrl;
  const flag = mode.startsWith('h2') ? (mode === 'h2c' ? '--http2-prior-knowledge' : '--http2') : '--http1.1';
  const id = Math.random().toString(36).slice(2);
  const headFile = join(dir, `${id}.head`);
  const bodyFile = join(dir, `${id}.body`);
  const r = await run('curl', ['-s', '-k', flag, '-D', headFile, '-o', bodyFile, '-w', '%{http_version}', ...extra, `${base}${path}`], { timeout: 120_000 });
  const head = readFileSync(headFile, 'latin1');
  // curl writes no output file for an empty body.
  const body = existsSync(bodyFile) ? readFileSync(bodyFile) : Buffer.alloc(0);
  rmSync(headFile, { force: true });
  rmSync(bodyFile, { force: true });
  const blocks = head.split(/\r\n\r\n/).filter((x) => x.trim() !== '');
  const statuses = blocks.map((blk) => Number(/^HTTP\/[\d.]+ (\d{3})/.exec(blk)?.[1]));
  const last = blocks[blocks.length - 1] ?? '';
  const headers: Record<string, string> = {};
  for (const line of last.split('\r\n').slice(1)) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
  }
  return { version: r.stdout.trim(), statuses, status: statuses[statuses.length - 1] ?? 0, headers, body };
}

const pick = (h: Record<string, string>, names: readonly string[]): Record<string, string | undefined> => Object.fromEntries(names.map((n) => [n, h[n]]));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.skipIf(!tlsOk)('HTTP/2 from curl gets what HTTP/1.1 gets', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'turnout-h2sem-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    makeCert(cert, key);
    blue = await startBackend('blue-1', app, { keepCleanup: false });
    green = await startBackend('green-1', app, { keepCleanup: false });
    // Shared by the tests of this file (startTestTurnout stops after each test): stopped in afterAll.
    plain = await startShared(doc());
    secure = await startShared({ ...doc(), listen: { host: '127.0.0.1', port: 0, tls: { cert, key } } });
  });
  afterAll(async () => {
    await plain?.stop(200);
    await secure?.stop(200);
    await blue?.close();
    await green?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the versions are what each flag asks for', async () => {
    const seen = await Promise.all(MODES.map((m) => curl(m, '/json')));
    expect(seen.map((a) => a.version)).toEqual(['1.1', '2', '1.1', '2']);
  });

  test('a GET: same status, body and forwarded headers; X-Forwarded-Proto follows the listener', async () => {
    for (const m of MODES) {
      const a = await curl(m, '/json?x=1', ['-H', 'x-request-id: fixed-id', '-H', 'x-custom: v']);
      expect(a.status, m).toBe(200);
      expect(a.headers['content-type'], m).toBe('application/json');
      expect(a.headers['x-backend'], m).toBe('blue-1');
      const seen = JSON.parse(a.body.toString()) as { backend: string; method: string; path: string; headers: Record<string, string> };
      expect(seen, m).toMatchObject({ backend: 'blue-1', method: 'GET', path: '/json' });
      expect(pick(seen.headers, ['x-forwarded-for', 'x-forwarded-proto', 'x-request-id', 'x-custom']), m).toEqual({
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-proto': m.endsWith('tls') ? 'https' : 'http',
        'x-request-id': 'fixed-id',
        'x-custom': 'v',
      });
      expect(seen.headers['x-forwarded-host'], m).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });

  test('HEAD, 204 and 304: no body, the same headers', async () => {
    for (const m of MODES) {
      // curl -I writes the head to its output: that output is the head alone, no byte of the 100 MiB.
      const head = await curl(m, '/big', ['-I']);
      expect([head.status, head.headers['content-length']], m).toEqual([200, String(BIG)]);
      expect(head.body.toString('latin1'), m).toMatch(/^HTTP\/[\d.]+ 200[^]*\r\n\r\n$/);
      expect(head.body.length, m).toBeLessThan(2000);
      const none = await curl(m, '/nocontent');
      expect([none.status, none.headers['x-backend'], none.body.length], m).toEqual([204, 'blue-1', 0]);
      const nm = await curl(m, '/notmodified', ['-H', 'if-none-match: "v1"']);
      expect([nm.status, nm.headers.etag, nm.body.length], m).toEqual([304, '"v1"', 0]);
    }
  });

  test('103 Early Hints reach the client before the answer', async () => {
    for (const m of MODES) {
      const a = await curl(m, '/hints');
      expect(a.statuses, m).toEqual([103, 200]);
      expect(a.body.toString(), m).toBe('after hints');
    }
  });

  test('the sticky cookie, the header override and the error JSON', async () => {
    for (const m of MODES) {
      const first = await curl(m, '/json');
      expect(first.headers['set-cookie'], m).toMatch(/^turnout_web=blue(;|$)/);
      const over = await curl(m, '/json', ['-H', 'x-turnout-pool: green']);
      expect(over.headers['x-backend'], m).toBe('green-1');
      const err = await curl(m, '/empty/x');
      expect(err.status, m).toBe(503);
      expect(err.headers['x-turnout-error'], m).toBe('no_backend');
      expect(err.headers['content-type'], m).toMatch(/^application\/json/);
      expect((JSON.parse(err.body.toString()) as { error: { code: string } }).error.code, m).toBe('no_backend');
    }
  });

  test('100 MiB down and up, byte-exact (SHA-256), every mode', async () => {
    const upload = join(dir, 'upload.bin');
    await pipeline(
      (async function* () {
        for (let i = 0; i < BIG / CHUNK; i++) yield chunkOf(i);
      })(),
      createWriteStream(upload),
    );
    for (const m of MODES) {
      const down = await curl(m, '/big');
      expect([down.status, down.body.length], m).toEqual([200, BIG]);
      expect(sha(down.body), m).toBe(bigSha());
      const up = await curl(m, '/upload', ['--data-binary', `@${upload}`, '-H', 'content-type: application/octet-stream']);
      expect(up.status, m).toBe(200);
      expect(JSON.parse(up.body.toString()), m).toEqual({ bytes: BIG, sha: bigSha() });
    }
  }, 300_000);

  test('streaming: an h2 client sees the first part long before the last', async () => {
    for (const url of [plain.proxyUrl, secure.proxyUrl.replace('http://', 'https://')]) {
      const session = http2.connect(url, { rejectUnauthorized: false });
      onTestFinished(() => void session.destroy());
      const times: number[] = [];
      const started = Date.now();
      const text = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/stream' });
        let body = '';
        req.on('data', (d: Buffer) => {
          times.push(Date.now() - started);
          body += d.toString();
        });
        req.on('end', () => resolve(body));
        req.on('error', reject);
        req.end();
      });
      expect(text).toBe('part 0\npart 1\npart 2\npart 3\npart 4\n');
      expect(times.length).toBeGreaterThanOrEqual(3);
      // Five parts 150 ms apart: the first arrived at least 400 ms before the last.
      expect((times[times.length - 1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(400);
    }
  });
});

/** A turnout in this process on ephemeral ports, with the test defaults (tokens, memory store, silent logs). */
function startShared(d: Record<string, unknown>): Promise<Turnout> {
  const config = parseConfigText(stringify(testDocument(d)), 'h2-semantics.yaml', {});
  return startTurnout(config, { logger: pino({ level: 'silent' }) });
}
