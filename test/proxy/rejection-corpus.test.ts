import http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { startTurnout } from '../../src/app.js';
import type { Turnout } from '../../src/app.js';
import { parseConfigText } from '../../src/config/index.js';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { rawSend, takeResponse } from '../helpers/raw.js';
import type { RawOutcome } from '../helpers/raw.js';
import { startTestTurnout } from '../helpers/turnout.js';
import { CORPUS, CORPUS_HEADERS_TIMEOUT_MS, CORPUS_MAX_HEADER_SIZE } from './corpus.js';
import type { CorpusCase } from './corpus.js';

/*
 * SPEC "Request path": malformed and ambiguous requests are answered (400, 405, 408, 431, 501, 505)
 * with the connection closed and nothing reaching a backend. The rows live in corpus.ts.
 *
 * One turnout and one recording backend serve the whole table (beforeAll): the backend is a raw
 * TCP server that counts every byte it receives, and the count is read after every row. Health
 * checks are off in this config, so no probe bytes arrive. A row that wrongly reaches the backend
 * gets a 200 with `connection: close` at once, so it fails fast instead of timing out.
 *
 * The llhttp oracle: the same rows go to a plain node:http server (llhttp, insecureHTTPParser
 * false, the same maxHeaderSize and headers timeout). Every row llhttp refuses, turnout must refuse
 * too, unless the row is listed in ACCEPTED_DESPITE_LLHTTP with the reason. Refusing more than
 * llhttp is fine: turnout's parser is meant to be stricter.
 */

/** Rows llhttp refuses that turnout deliberately accepts: row name → justification. */
export const ACCEPTED_DESPITE_LLHTTP: ReadonlyMap<string, string> = new Map<string, string>([]);

/** Per-row wait for the answer and the close (the 408 row needs the headers timeout plus slack). */
const ROW_TIMEOUT_MS = CORPUS_HEADERS_TIMEOUT_MS + 2500;

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function statusOf(text: string): number {
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(text);
  return m === null ? 0 : Number(m[1]);
}

interface RecordingBackend {
  readonly url: string;
  /** Bytes received on all connections so far. */
  bytes(): number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A raw TCP backend that records every byte and answers any complete head with a closing 200.
 * Not startRawBackend: that one registers its cleanup with onTestFinished, which beforeAll cannot.
 */
async function startRecordingBackend(): Promise<RecordingBackend> {
  let bytes = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    let seen = '';
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (d: Buffer) => {
      bytes += d.length;
      seen += d.toString('latin1');
      if (seen.includes('\r\n\r\n') && socket.writable) socket.end('HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nbackend');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bytes: () => bytes,
    connections: () => connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** listen settings of the corpus run, shared by turnout and the llhttp oracle. */
const CORPUS_LISTEN = { host: '127.0.0.1', port: 0, maxHeaderSize: CORPUS_MAX_HEADER_SIZE, headersTimeout: `${CORPUS_HEADERS_TIMEOUT_MS}ms` };

/**
 * turnout in this process, as startTestTurnout builds it (memory store, silent log), stopped in
 * afterAll: startTestTurnout registers onTestFinished, which beforeAll cannot.
 */
async function startSharedTurnout(backendUrl: string): Promise<Turnout> {
  const doc = {
    listen: CORPUS_LISTEN,
    admin: { host: '127.0.0.1', port: 0, tokens: [{ name: 'ci', token: 'test-token', scope: 'write' }] },
    state: { store: 'memory' },
    log: { level: 'silent' },
    ...webService({ blue: [{ id: 'rec', url: backendUrl }] }),
  };
  return startTurnout(parseConfigText(stringify(doc), 'corpus.yaml', {}), { logger: pino({ level: 'silent' }) });
}

interface TurnoutRow {
  readonly outcome: RawOutcome;
  readonly status: number;
  /** Bytes the backend received while this row ran. */
  readonly backendBytes: number;
}

interface Oracle {
  readonly port: number;
  run(row: CorpusCase): Promise<{ accepted: boolean; detail: string }>;
  close(): Promise<void>;
}

/**
 * A plain node:http server (llhttp, strict). Only the row's first request is judged: it is accepted
 * when the request handler ran and its body ended before any parser error (bytes after it, which
 * llhttp read as a second request, do not count); refused when llhttp raised a client error first,
 * or the connection closed without a request (CONNECT with no 'connect' listener). One row at a time.
 */
async function startOracle(): Promise<Oracle> {
  let current = { handler: false, ended: false, clientError: undefined as string | undefined, reqError: undefined as string | undefined };
  const server = http.createServer(
    {
      maxHeaderSize: CORPUS_MAX_HEADER_SIZE,
      insecureHTTPParser: false,
      headersTimeout: CORPUS_HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: 100,
    },
    (req, res) => {
      const seen = current;
      seen.handler = true;
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!seen.ended) seen.reqError ??= err.code ?? err.message;
      });
      req.on('end', () => {
        if (seen.clientError !== undefined || seen.reqError !== undefined) return;
        seen.ended = true;
        res.writeHead(200, { connection: 'close', 'content-length': 2 });
        res.end('ok');
      });
      req.resume();
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (!current.ended) current.clientError ??= err.code ?? err.message;
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (socket.writable) socket.end(`HTTP/1.1 ${status} x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async run(row) {
      current = { handler: false, ended: false, clientError: undefined, reqError: undefined };
      const seen = current;
      const out = await rawSend(port, row.bytes, { timeoutMs: ROW_TIMEOUT_MS });
      if (seen.ended) return { accepted: true, detail: 'accepted' };
      if (seen.clientError !== undefined) return { accepted: false, detail: seen.clientError };
      if (seen.reqError !== undefined) return { accepted: false, detail: `body: ${seen.reqError}` };
      if (!seen.handler && out.closed) return { accepted: false, detail: `closed, no request (${statusOf(out.text) || 'no answer'})` };
      return { accepted: false, detail: seen.handler ? 'body never ended' : 'no answer, no close' };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('rejection corpus: refused, closed, nothing reaches the backend', () => {
  let backend: RecordingBackend;
  let turnout: Turnout;
  let oracle: Oracle;
  /** Results of the per-row tests, reused by the oracle comparison when present. */
  const results = new Map<string, TurnoutRow>();

  beforeAll(async () => {
    backend = await startRecordingBackend();
    turnout = await startSharedTurnout(backend.url);
    oracle = await startOracle();
  });
  afterAll(async () => {
    await turnout?.stop(200);
    await backend?.close();
    await oracle?.close();
  });

  async function sendRow(row: CorpusCase): Promise<TurnoutRow> {
    const before = backend.bytes();
    const outcome = await rawSend(portOf(turnout.proxyUrl), row.bytes, { timeoutMs: ROW_TIMEOUT_MS });
    const result = { outcome, status: statusOf(outcome.text), backendBytes: backend.bytes() - before };
    results.set(row.name, result);
    return result;
  }

  test('the corpus has at least 60 rows with unique names', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CORPUS.map((c) => c.name)).size).toBe(CORPUS.length);
  });

  test.each(CORPUS.map((c) => [c.name, c] as const))('%s', async (_name, row) => {
    const r = await sendRow(row);
    const allowed = row.alsoAccept === undefined ? [row.expect] : [row.expect, row.alsoAccept];
    const seen = JSON.stringify(r.outcome.text.slice(0, 160));
    expect(allowed, `status ${r.status} (${row.why}); got ${seen}`).toContain(r.status);
    expect(r.backendBytes, 'bytes that reached the backend').toBe(0);
    const answer = takeResponse(r.outcome.text, { closed: r.outcome.closed });
    expect(answer?.response.headers.connection?.toLowerCase(), 'the answer announces the close').toBe('close');
    expect(r.outcome.closed, 'turnout closed the connection').toBe(true);
  });

  test('llhttp oracle: every row llhttp refuses, turnout refuses too', async () => {
    const table: { row: string; turnout: string; llhttp: string }[] = [];
    const missed: string[] = [];
    for (const row of CORPUS) {
      const t = results.get(row.name) ?? (await sendRow(row));
      const o = await oracle.run(row);
      const turnoutRefused = t.status >= 400 && t.backendBytes === 0;
      table.push({ row: row.name, turnout: t.status === 0 ? (t.outcome.closed ? 'closed' : 'no answer') : String(t.status), llhttp: o.accepted ? 'accepts' : `refuses: ${o.detail}` });
      if (!o.accepted && !turnoutRefused && !ACCEPTED_DESPITE_LLHTTP.has(row.name)) missed.push(`${row.name}: llhttp ${o.detail}, turnout ${t.status} with ${t.backendBytes} bytes to the backend`);
    }
    const w = Math.max(...table.map((r) => r.row.length));
    console.log(['row'.padEnd(w), 'turnout', 'llhttp'].join(' | ') + '\n' + table.map((r) => [r.row.padEnd(w), r.turnout.padEnd(7), r.llhttp].join(' | ')).join('\n'));
    expect(missed, 'rows llhttp refuses but turnout lets through').toEqual([]);
    // A justification for a row that no longer exists, or that llhttp accepts after all, is stale.
    for (const name of ACCEPTED_DESPITE_LLHTTP.keys()) expect(CORPUS.some((c) => c.name === name), `ACCEPTED_DESPITE_LLHTTP names ${name}`).toBe(true);
  });
});

describe('positive controls: well-formed edge cases reach the backend intact', () => {
  function proxyPort(t: Turnout): number {
    return portOf(t.proxyUrl);
  }

  /** What the backend saw of each request. */
  interface Seen {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
  }

  async function recordingApp(): Promise<{ url: string; seen: Seen[] }> {
    const seen: Seen[] = [];
    const b = await startBackend('app', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-length': 2 });
        res.end('ok');
      });
    });
    return { url: b.url, seen };
  }

  async function exchange(t: Turnout, bytes: string | Buffer): Promise<number> {
    const out = await rawSend(proxyPort(t), bytes, { timeoutMs: 5000 });
    return statusOf(out.text);
  }

  test('a header name with "_" is dropped by default, the request still goes through', async () => {
    const app = await recordingApp();
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app.url }] }));
    const status = await exchange(t, 'GET /u HTTP/1.1\r\nHost: a\r\nX_Auth_User: admin\r\nX-Kept: 1\r\nConnection: close\r\n\r\n');
    expect(status).toBe(200);
    expect(app.seen).toHaveLength(1);
    expect(app.seen[0]?.headers['x_auth_user']).toBeUndefined();
    expect(app.seen[0]?.headers['x-kept']).toBe('1');
  });

  test('a header name with "_" is forwarded with listen.allowUnderscoreHeaders: true', async () => {
    const app = await recordingApp();
    const t = await startTestTurnout({ ...webService({ blue: [{ id: 'app', url: app.url }] }), listen: { host: '127.0.0.1', port: 0, allowUnderscoreHeaders: true } });
    const status = await exchange(t, 'GET /u HTTP/1.1\r\nHost: a\r\nX_Auth_User: admin\r\nConnection: close\r\n\r\n');
    expect(status).toBe(200);
    expect(app.seen[0]?.headers['x_auth_user']).toBe('admin');
  });

  test('OPTIONS * reaches the backend as OPTIONS *', async () => {
    const app = await recordingApp();
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app.url }] }));
    expect(await exchange(t, 'OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).toBe(200);
    expect(app.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['OPTIONS *']);
  });

  test('an absolute-form target reaches the backend in origin-form', async () => {
    const app = await recordingApp();
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app.url }] }));
    expect(await exchange(t, 'GET http://a/x?q=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).toBe(200);
    expect(app.seen.map((s) => s.url)).toEqual(['/x?q=1']);
  });

  test('chunk extensions are accepted and the body arrives whole', async () => {
    const app = await recordingApp();
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app.url }] }));
    const body = '5;ext=1\r\nhello\r\n6;a;b="q"\r\n world\r\n0\r\n\r\n';
    expect(await exchange(t, `POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`)).toBe(200);
    expect(app.seen[0]?.body.toString()).toBe('hello world');
  });

  test('Transfer-Encoding: gzip, chunked is accepted; the gzip coding is passed on, not undone', async () => {
    const app = await recordingApp();
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app.url }] }));
    const gz = gzipSync(Buffer.from('hello gzip'));
    const head = `POST /g HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n${gz.length.toString(16)}\r\n`;
    expect(await exchange(t, Buffer.concat([Buffer.from(head, 'latin1'), gz, Buffer.from('\r\n0\r\n\r\n', 'latin1')]))).toBe(200);
    const seen = app.seen[0];
    expect(seen?.headers['transfer-encoding'] ?? '(none)').toMatch(/^gzip,\s*chunked$/i);
    expect(gunzipSync(seen?.body ?? Buffer.alloc(0)).toString()).toBe('hello gzip');
  });

  test('HTTP/1.0 without Host is accepted, answered, and closed', async () => {
    const app = await recordingApp();
    const t = await startTestTurnout(webService({ blue: [{ id: 'app', url: app.url }] }));
    const out = await rawSend(proxyPort(t), 'GET /old HTTP/1.0\r\n\r\n', { timeoutMs: 5000 });
    expect(statusOf(out.text)).toBe(200);
    expect(out.closed).toBe(true);
    expect(app.seen.map((s) => s.url)).toEqual(['/old']);
  });
});
