import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Socket } from 'node:net';
import { describe, expect, onTestFinished, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { dechunk, chunkedEnd, openRawClient, startRawBackend, takeResponse } from '../helpers/raw.js';
import type { FramedResponse, RawClient } from '../helpers/raw.js';
import { startTestTurnout } from '../helpers/turnout.js';

/*
 * HTTP/1.1 semantics of the request path (SPEC "Request path": keep-alive both sides, pipelining
 * in order, Expect: 100-continue honoured, 1xx relayed, bodies streamed), over raw sockets on both
 * sides so framing is exactly what each test writes. Backends that must control framing are raw
 * TCP servers driven by `rawApp`; the client is a raw socket (openRawClient).
 */

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  readonly settled: () => boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let done = false;
  const promise = new Promise<T>((r) => (resolve = r));
  return {
    promise,
    resolve: (v) => {
      done = true;
      resolve(v);
    },
    settled: () => done,
  };
}

/** Resolves after `ms`; for bounded waits on something that must NOT happen, never as a sync point. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]).finally(() => clearTimeout(timer));
}

/** The backend side of one upstream connection: byte-exact reads of request heads and bodies. */
interface Peer {
  readonly socket: Socket;
  /** Bytes received but not yet taken by takeHead/takeBody. */
  pending(): number;
  /** The next request head (text without the empty line); bytes after it stay pending. */
  takeHead(timeoutMs?: number): Promise<string>;
  /** The body announced by `head`, exactly as on the wire (chunked stays chunked, trailers included). */
  takeBody(head: string, timeoutMs?: number): Promise<Buffer>;
}

function peer(socket: Socket): Peer {
  let buf = Buffer.alloc(0);
  let pos = 0;
  let closed = false;
  const waiters = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf.subarray(pos), d]);
    pos = 0;
    for (const w of waiters) w();
  });
  socket.on('close', () => {
    closed = true;
    for (const w of waiters) w();
  });
  const wait = <T>(take: () => T | undefined, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const w = (): void => {
        const got = take();
        if (got !== undefined) {
          waiters.delete(w);
          clearTimeout(timer);
          resolve(got);
        } else if (closed) {
          waiters.delete(w);
          clearTimeout(timer);
          reject(new Error('upstream connection closed'));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`backend waited ${timeoutMs}ms; pending ${JSON.stringify(buf.subarray(pos, pos + 200).toString('latin1'))}`));
      }, timeoutMs);
      waiters.add(w);
      w();
    });
  return {
    socket,
    pending: () => buf.length - pos,
    takeHead(timeoutMs = 5000) {
      return wait(() => {
        const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
        if (end < 0) return undefined;
        const head = buf.toString('latin1', pos, end);
        pos = end + 4;
        return head;
      }, timeoutMs);
    },
    takeBody(head, timeoutMs = 5000) {
      const te = /^transfer-encoding:[ \t]*(.*)$/im.exec(head)?.[1] ?? '';
      const cl = /^content-length:[ \t]*(\d+)/im.exec(head)?.[1];
      return wait(() => {
        let end: number | undefined;
        if (/chunked\s*$/i.test(te)) {
          const rel = chunkedEnd(buf.toString('latin1', pos), 0);
          end = rel === undefined ? undefined : pos + rel;
        } else {
          const want = cl === undefined ? 0 : Number(cl);
          end = buf.length - pos >= want ? pos + want : undefined;
        }
        if (end === undefined) return undefined;
        const body = Buffer.from(buf.subarray(pos, end));
        pos = end;
        return body;
      }, timeoutMs);
    },
  };
}

interface RawApp {
  readonly url: string;
  /** Upstream connections accepted so far. */
  connections(): number;
  /** Requests seen so far, in arrival order. */
  readonly seen: { head: string; body: Buffer; connection: number }[];
}

/**
 * A raw backend that reads requests one after another on each connection and lets `respond`
 * write the answer bytes itself. `respond` may read the body itself (for 100-continue) and then
 * returns the body it read; otherwise the body is read before `respond` runs (`readBody: true`).
 */
async function rawApp(
  respond: (req: { head: string; body: Buffer; peer: Peer; index: number; connection: number }) => Promise<void> | void,
  opts: { readBody?: boolean } = {},
): Promise<RawApp> {
  const seen: RawApp['seen'] = [];
  const b = await startRawBackend((socket, connection) => {
    const p = peer(socket);
    void (async () => {
      // Bounded: one connection never carries more than this many requests in these tests.
      for (let i = 0; i < 100 && !socket.destroyed; i++) {
        const head = await p.takeHead(30_000);
        const body = opts.readBody === false ? Buffer.alloc(0) : await p.takeBody(head);
        seen.push({ head, body, connection });
        await respond({ head, body, peer: p, index: seen.length - 1, connection });
      }
    })().catch(() => socket.destroy());
  });
  return { url: b.url, connections: () => b.connections, seen };
}

/** Frames every complete response in `text`; `heads[i]` says the i-th answers a HEAD request. */
function responses(text: string, opts: { heads?: readonly boolean[]; closed?: boolean } = {}): FramedResponse[] {
  const out: FramedResponse[] = [];
  let rest = text;
  for (let i = 0; i < 100 && rest.length > 0; i++) {
    const t = takeResponse(rest, { head: opts.heads?.[out.filter((r) => r.status >= 200).length] === true, ...(opts.closed === true ? { closed: true } : {}) });
    if (t === undefined) break;
    out.push(t.response);
    rest = t.rest;
  }
  return out;
}

function finals(text: string, opts: { heads?: readonly boolean[]; closed?: boolean } = {}): FramedResponse[] {
  return responses(text, opts).filter((r) => r.status >= 200);
}

/** An echoing node:http backend: answers `{method, path, body}` with Content-Length. */
async function echoBackend(): Promise<{ url: string }> {
  return startBackend('echo', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const send = (): void => {
        const body = JSON.stringify({ method: req.method, path: url.pathname, body: Buffer.concat(chunks).toString('latin1') });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      const ms = Number(url.searchParams.get('ms') ?? '0');
      if (ms > 0) {
        const t = setTimeout(send, ms);
        res.on('close', () => clearTimeout(t));
      } else send();
    });
  });
}

describe('pipelining', () => {
  test('four pipelined requests in one write, the second slow, are answered in order', async () => {
    const b = await echoBackend();
    const t = await startTestTurnout(webService({ blue: [{ id: 'echo', url: b.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write(['/p/1', '/p/2?ms=300', '/p/3', '/p/4'].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''));
    await c.until((text) => finals(text).length >= 4);
    expect(finals(c.text()).map((r) => [r.status, (JSON.parse(r.body) as { path: string }).path])).toEqual([
      [200, '/p/1'],
      [200, '/p/2'],
      [200, '/p/3'],
      [200, '/p/4'],
    ]);
    expect(c.closed(), 'keep-alive: the connection stays open').toBe(false);
  });

  test('POSTs with a Content-Length and a chunked body pipelined between GETs keep their bodies and the order', async () => {
    const b = await echoBackend();
    const t = await startTestTurnout(webService({ blue: [{ id: 'echo', url: b.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write(
      'GET /g/1?ms=200 HTTP/1.1\r\nHost: a\r\n\r\n' +
        'POST /post/cl HTTP/1.1\r\nHost: a\r\nContent-Length: 22\r\n\r\nGET /not-a-request/ 1\n' +
        'POST /post/chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\n\r\n\r\n\r\n0\r\n\r\n' +
        'GET /g/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    await c.whenClosed();
    expect(finals(c.text(), { closed: true }).map((r) => JSON.parse(r.body) as unknown)).toEqual([
      { method: 'GET', path: '/g/1', body: '' },
      { method: 'POST', path: '/post/cl', body: 'GET /not-a-request/ 1\n' },
      { method: 'POST', path: '/post/chunked', body: 'abc\r\n\r\n' },
      { method: 'GET', path: '/g/2', body: '' },
    ]);
  });
});

describe('chunked bodies', () => {
  test('a chunked request body reaches the backend as valid chunked, reassembling to the exact bytes', async () => {
    const app = await rawApp(({ peer: p }) => void p.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    // Payload bytes that look like framing: CRLFs, "0\r\n\r\n", NUL, high bytes.
    const payload = Buffer.concat([Buffer.from('0\r\n\r\nGET / HTTP/1.1\r\n', 'latin1'), randomBytes(3000), Buffer.from([0, 0xff, 0x0d, 0x0a])]);
    const pieces = [payload.subarray(0, 1), payload.subarray(1, 26), payload.subarray(26, 2000), payload.subarray(2000)];
    const wire = Buffer.concat([
      Buffer.from('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', 'latin1'),
      ...pieces.flatMap((p, i) => [Buffer.from(`${p.length.toString(16)}${i === 1 ? ';note=x' : ''}\r\n`, 'latin1'), p, Buffer.from('\r\n', 'latin1')]),
      Buffer.from('0\r\n\r\n', 'latin1'),
    ]);
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write(wire);
    await c.until((text) => finals(text).length >= 1);
    expect(finals(c.text())[0]?.status).toBe(200);
    const got = app.seen[0];
    expect(got?.head).toMatch(/^transfer-encoding:[ \t]*chunked$/im);
    expect(got?.head).not.toMatch(/^content-length:/im);
    expect(sha256(dechunk(got?.body.toString('latin1') ?? ''))).toBe(sha256(payload));
  });

  /*
   * What this asserts: the engine passes a chunked answer body through to an HTTP/1.1 client
   * unchanged, byte for byte: chunk sizes, chunk extensions, the trailer section (X-Checksum) and
   * the final CRLF, even when the backend writes it in several pieces. The head may change (hop-by-
   * hop rules), the body bytes may not.
   */
  test('a chunked answer with several chunks and a trailer reaches an HTTP/1.1 client unchanged', async () => {
    const chunked = ['4;ext=1\r\nabcd\r\n', '1a\r\n', 'abcdefghijklmnopqrstuvwxyz\r\n', '3\r\n\r\n!\r\n', '0\r\nX-Checksum: 42\r\n\r\n'];
    const app = await rawApp(async ({ peer: p }) => {
      p.socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n');
      for (const piece of chunked) {
        await new Promise<void>((r) => setImmediate(r));
        p.socket.write(piece);
      }
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write('GET /chunks HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.until((text) => finals(text).length >= 1);
    const res = finals(c.text())[0];
    expect(res?.headers['transfer-encoding']).toBe('chunked');
    expect(res?.body).toBe(chunked.join(''));
    expect(dechunk(res?.body ?? '').toString()).toBe('abcdabcdefghijklmnopqrstuvwxyz\r\n!');
  });

  test('an HTTP/1.0 client gets a chunked answer de-chunked, delimited by the close', async () => {
    const app = await rawApp(({ peer: p }) => void p.socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'));
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write('GET /old HTTP/1.0\r\n\r\n');
    await c.whenClosed();
    // RFC 9112 6.1: chunked is never sent to an HTTP/1.0 recipient.
    const res = finals(c.text(), { closed: true })[0];
    expect(res?.status).toBe(200);
    expect(res?.headers['transfer-encoding']).toBeUndefined();
    expect(res?.body).toBe('hello world');
  });
});

describe('Expect: 100-continue', () => {
  /**
   * The client as RFC 9110 10.1.1 describes it, minus its patience timer: sends the head, then the
   * body only once a 100 arrives. Resolves with every response it got (1xx included).
   */
  async function expectingClient(c: RawClient, body: string, got100: Deferred<number>): Promise<FramedResponse[]> {
    c.socket.write(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await c.until((text) => responses(text).length >= 1);
    const first = responses(c.text())[0];
    if (first?.status === 100) {
      got100.resolve(performance.now());
      c.socket.write(body);
    }
    await c.until((text) => finals(text).length >= 1);
    return responses(c.text());
  }

  test('no body byte reaches the backend before it sends 100 Continue; then the body and the answer flow', async () => {
    const got100 = deferred<number>();
    let bodyBytesBefore100 = -1;
    let wrote100At = Number.POSITIVE_INFINITY;
    let clientHad100Before = false;
    let backendHead = '';
    const app = await rawApp(
      async ({ head, peer: p }) => {
        backendHead = head;
        // Room for a proxy that answers 100 itself (and so gets the body early) to show it.
        clientHad100Before = (await within(got100.promise, 300)) !== 'timeout';
        bodyBytesBefore100 = p.pending();
        wrote100At = performance.now();
        p.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
        const body = await p.takeBody(head);
        p.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body.toString('latin1')}`);
      },
      { readBody: false },
    );
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    const all = await expectingClient(c, 'hello', got100);
    expect(clientHad100Before, 'the client got a 100 the backend never sent').toBe(false);
    expect(bodyBytesBefore100, 'body bytes at the backend before it asked').toBe(0);
    expect(backendHead, 'the backend is asked, so it can decide').toMatch(/^expect:[ \t]*100-continue$/im);
    expect(await got100.promise).toBeGreaterThanOrEqual(wrote100At);
    expect(all.map((r) => r.status)).toEqual([100, 200]);
    expect(all[1]?.body).toBe('hello');
  });

  test.each([
    { status: 417, answer: 'HTTP/1.1 417 Expectation Failed\r\ncontent-length: 0\r\n\r\n' },
    { status: 401, answer: 'HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer\r\ncontent-length: 6\r\n\r\ndenied' },
  ])('a backend answering $status at once: the client gets it, no 100, and no body is forwarded', async ({ status, answer }) => {
    const got100 = deferred<number>();
    let backendPeer: Peer | undefined;
    const app = await rawApp(
      ({ peer: p }) => {
        backendPeer = p;
        p.socket.write(answer);
      },
      { readBody: false },
    );
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    const all = await expectingClient(c, 'hello', got100);
    expect(all.map((r) => r.status)).toEqual([status]);
    // Nothing must follow; give a wrong implementation room to send the body anyway.
    await within(new Promise(() => undefined), 200);
    expect(backendPeer?.pending(), 'body bytes forwarded to the backend').toBe(0);
  });
});

describe('answers without a body, and 1xx', () => {
  test('HEAD answered with a Content-Length and no body; the next request on the connection works', async () => {
    const app = await rawApp(({ head, peer: p }) => {
      if (head.startsWith('HEAD ')) p.socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1234\r\n\r\n');
      else p.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nafter');
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write('HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.until((text) => finals(text, { heads: [true] }).length >= 1);
    c.socket.write('GET /g HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.until((text) => finals(text, { heads: [true, false] }).length >= 2);
    const [headRes, getRes] = finals(c.text(), { heads: [true, false] });
    expect(headRes?.headers['content-length']).toBe('1234');
    expect(headRes?.body).toBe('');
    expect(getRes?.status).toBe(200);
    expect(getRes?.body).toBe('after');
    expect(c.text().startsWith(headRes?.raw ?? '-')).toBe(true);
  });

  test('204, then 304 with a Content-Length, both without a body; the next request on the connection works', async () => {
    const app = await rawApp(({ head, peer: p }) => {
      if (head.startsWith('GET /204')) p.socket.write('HTTP/1.1 204 No Content\r\nx-n: 1\r\n\r\n');
      else if (head.startsWith('GET /304')) p.socket.write('HTTP/1.1 304 Not Modified\r\netag: "v1"\r\ncontent-length: 99\r\n\r\n');
      else p.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nlast');
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    for (const [i, path] of ['/204', '/304', '/200'].entries()) {
      c.socket.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      await c.until((text) => finals(text).length >= i + 1);
    }
    const all = finals(c.text());
    expect(all.map((r) => [r.status, r.body])).toEqual([
      [204, ''],
      [304, ''],
      [200, 'last'],
    ]);
    expect(app.connections(), 'one upstream connection carried all three').toBe(1);
  });

  test('103 Early Hints is relayed to the client before the backend sends the 200', async () => {
    const clientSaw103 = deferred<number>();
    let saw103BeforeFinal = false;
    const app = await rawApp(async ({ peer: p }) => {
      p.socket.write('HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\n\r\n');
      saw103BeforeFinal = (await within(clientSaw103.promise, 3000)) !== 'timeout';
      p.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write('GET /page HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.until((text) => {
      const first = responses(text)[0];
      if (first?.status === 103) clientSaw103.resolve(performance.now());
      return finals(text).length >= 1;
    });
    expect(saw103BeforeFinal, 'the 103 reached the client while the backend held the 200').toBe(true);
    const all = responses(c.text());
    expect(all.map((r) => r.status)).toEqual([103, 200]);
    expect(all[0]?.headers.link).toBe('</style.css>; rel=preload; as=style');
  });
});

describe('connection handling', () => {
  test('a close-delimited answer arrives whole, then the client connection is closed', async () => {
    const body = randomBytes(256 * 1024);
    const app = await rawApp(async ({ peer: p }) => {
      p.socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\r\n');
      for (let at = 0; at < body.length; at += 50_000) {
        p.socket.write(body.subarray(at, at + 50_000));
        await new Promise<void>((r) => setImmediate(r));
      }
      p.socket.end();
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write('GET /stream HTTP/1.1\r\nHost: a\r\n\r\n');
    // Either the close, or (wrongly kept open) a re-framed answer that is complete without it.
    await c.until((text) => c.closed() || finals(text).length >= 1, 5000);
    const res = finals(c.text(), { closed: c.closed() })[0];
    expect(res?.status).toBe(200);
    const got = res?.headers['transfer-encoding'] === 'chunked' ? dechunk(res.body) : Buffer.from(res?.body ?? '', 'latin1');
    expect(got.length).toBe(body.length);
    expect(sha256(got)).toBe(sha256(body));
    // Passed through as it came: a close-delimited body can only end with the close.
    await c.whenClosed(1000);
  });

  test('an absolute-form target is routed by its own host, not the Host header', async () => {
    const a = await echoBackend();
    const b = await rawApp(({ peer: p }) => void p.socket.write('HTTP/1.1 200 OK\r\nx-backend: b\r\ncontent-length: 1\r\n\r\nb'));
    const svc = (host: string, id: string, url: string): Record<string, unknown> => ({
      routes: [{ host, pathPrefix: '/' }],
      pools: { blue: [{ id, url }] },
      outlier: false,
      timeouts: { connect: '1s', response: '5s' },
    });
    const t = await startTestTurnout({ services: { a: svc('a.example', 'a', a.url), b: svc('b.example', 'b', b.url) } });
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write('GET http://b.example/x?y=1 HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
    await c.whenClosed();
    expect(finals(c.text(), { closed: true })[0]?.headers['x-backend']).toBe('b');
    // RFC 9112 3.2.2: the target's authority replaces Host; the backend gets origin-form.
    const head = b.seen[0]?.head ?? '';
    expect(head.split('\r\n')[0]).toBe('GET /x?y=1 HTTP/1.1');
    expect(head).toMatch(/^host:[ \t]*b\.example$/im);
  });

  test('an HTTP/1.0 client without Host gets an answer, then the connection closes', async () => {
    const b = await echoBackend();
    const t = await startTestTurnout(webService({ blue: [{ id: 'echo', url: b.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write('GET /ten HTTP/1.0\r\n\r\n');
    await c.whenClosed();
    const res = finals(c.text(), { closed: true });
    expect(res.map((r) => r.status)).toEqual([200]);
    expect(res[0]?.headers.connection?.toLowerCase()).not.toBe('keep-alive');
    expect(c.text().startsWith('HTTP/1.')).toBe(true);
  });

  test('HTTP/1.0 with Connection: keep-alive stays open when the answer has a Content-Length', async () => {
    const b = await echoBackend();
    const t = await startTestTurnout(webService({ blue: [{ id: 'echo', url: b.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    for (let i = 1; i <= 2; i++) {
      c.socket.write(`GET /ka/${i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
      await c.until((text) => finals(text).length >= i);
    }
    const res = finals(c.text());
    expect(res.map((r) => (JSON.parse(r.body) as { path: string }).path)).toEqual(['/ka/1', '/ka/2']);
    // RFC 9112 9.3: a 1.0 connection persists only when the server says keep-alive.
    expect(res.map((r) => r.headers.connection?.toLowerCase())).toEqual(['keep-alive', 'keep-alive']);
    expect(c.closed()).toBe(false);
  });

  test('Connection: close from the client: answered, then closed', async () => {
    const b = await echoBackend();
    const t = await startTestTurnout(webService({ blue: [{ id: 'echo', url: b.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write('GET /bye HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await c.whenClosed();
    const res = finals(c.text(), { closed: true });
    expect(res.map((r) => r.status)).toEqual([200]);
    expect(res[0]?.headers.connection?.toLowerCase()).toBe('close');
  });

  test('Connection: close from the backend: the client gets the answer and its next request succeeds on a new upstream connection', async () => {
    const app = await rawApp(({ index, peer: p }) => {
      if (index === 0) p.socket.end('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 5\r\n\r\nfirst');
      else p.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond');
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'raw', url: app.url }] }));
    const c = await openRawClient(portOf(t.proxyUrl));
    c.socket.write('GET /1 HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.until((text) => finals(text).length >= 1);
    expect(c.closed(), 'the backend closing is not the client’s close').toBe(false);
    c.socket.write('GET /2 HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.until((text) => finals(text).length >= 2);
    expect(finals(c.text()).map((r) => [r.status, r.body])).toEqual([
      [200, 'first'],
      [200, 'second'],
    ]);
    expect(app.seen.map((s) => s.connection)).toEqual([0, 1]);
  });
});

describe('backpressure', () => {
  test('an 8 MiB answer read slowly (small reads over ~2 s) arrives whole and byte-exact', async () => {
    const body = randomBytes(8 * 1024 * 1024);
    const b = await startBackend('big', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
    const t = await startTestTurnout(webService({ blue: [{ id: 'big', url: b.url }] }));
    const socket = net.connect(portOf(t.proxyUrl), '127.0.0.1');
    onTestFinished(() => {
      socket.destroy();
    });
    socket.write('GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const hash = createHash('sha256');
    const started = Date.now();
    const received = await new Promise<number>((resolve, reject) => {
      let headBuf = Buffer.alloc(0);
      let inBody = false;
      let bytes = 0;
      let reads = 0;
      const deadline = setTimeout(() => reject(new Error(`only ${bytes} body bytes within 20 s`)), 20_000);
      socket.on('error', reject);
      socket.on('data', (d: Buffer) => {
        if (!inBody) {
          headBuf = Buffer.concat([headBuf, d]);
          const end = headBuf.indexOf('\r\n\r\n');
          if (end < 0) return;
          expect(headBuf.toString('latin1', 0, 12)).toBe('HTTP/1.1 200');
          inBody = true;
          d = headBuf.subarray(end + 4);
        }
        bytes += d.length;
        hash.update(d);
        if (bytes >= body.length) {
          clearTimeout(deadline);
          resolve(bytes);
          return;
        }
        // Small reads, ~2 s in all: pause after each read, for longer in the first 2 s.
        reads++;
        socket.pause();
        setTimeout(() => socket.resume(), Date.now() - started < 2000 ? 15 : 0);
      });
      socket.on('close', () => {
        clearTimeout(deadline);
        if (bytes < body.length) reject(new Error(`closed after ${bytes} of ${body.length} body bytes (${reads} reads)`));
      });
    });
    expect(received).toBe(body.length);
    expect(hash.digest('hex')).toBe(sha256(body));
    expect(Date.now() - started, 'the slow reader really was slow').toBeGreaterThanOrEqual(1500);
  });
});
