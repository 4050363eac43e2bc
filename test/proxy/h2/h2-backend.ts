import http2 from 'node:http2';
import type { Http2Server, Http2Session, ServerHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

/** What a test h2 backend saw of one stream. */
export interface SeenStream {
  readonly headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders | undefined;
}

export interface H2Backend {
  readonly id: string;
  readonly url: string;
  readonly server: Http2Server;
  /** Sessions the backend accepted so far. */
  sessions: number;
  readonly open: Set<Http2Session>;
  readonly seen: SeenStream[];
  /** Streams open now, and the most at once on one session. */
  active: number;
  maxPerSession: number;
  close(): Promise<void>;
}

export type H2Handler = (stream: ServerHttp2Stream, seen: SeenStream, b: H2Backend) => void;

/**
 * A plain node:http2 (h2c) backend on 127.0.0.1:0. Default app: answers 200 with `{"backend", "path"}`
 * after reading the request; `/slow?ms=N` after N ms; `/trailers` with trailers `x-sum: <bytes>`.
 * `maxConcurrentStreams` is what its SETTINGS announce. Closed after the test.
 */
export async function startH2Backend(id: string, opts: { maxConcurrentStreams?: number; handler?: H2Handler } = {}): Promise<H2Backend> {
  const server = http2.createServer({ settings: { maxConcurrentStreams: opts.maxConcurrentStreams ?? 100 } });
  const perSession = new Map<Http2Session, number>();
  let b!: H2Backend;
  server.on('session', (s) => {
    b.sessions++;
    b.open.add(s);
    s.on('close', () => b.open.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    const seen: SeenStream = { headers, body: Buffer.alloc(0), trailers: undefined };
    b.seen.push(seen);
    b.active++;
    const s = stream.session as Http2Session;
    const n = (perSession.get(s) ?? 0) + 1;
    perSession.set(s, n);
    if (n > b.maxPerSession) b.maxPerSession = n;
    stream.on('close', () => {
      b.active--;
      perSession.set(s, (perSession.get(s) ?? 1) - 1);
    });
    stream.on('error', () => undefined);
    stream.on('trailers', (t) => (seen.trailers = t));
    (opts.handler ?? defaultH2)(stream, seen, b);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  b = {
    id,
    url: `http://127.0.0.1:${port}`,
    server,
    sessions: 0,
    open: new Set(),
    seen: [],
    active: 0,
    maxPerSession: 0,
    async close() {
      if (closed) return;
      closed = true;
      for (const s of b.open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  onTestFinished(() => b.close());
  return b;
}

export const defaultH2: H2Handler = (stream, seen, b) => {
  const url = new URL(String(seen.headers[':path']), 'http://x');
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  stream.on('end', () => {
    seen.body = Buffer.concat(chunks);
    const answer = (): void => {
      if (stream.destroyed) return;
      if (url.pathname === '/trailers') {
        stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-backend': b.id }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-sum': String(seen.body.length), 'x-backend': b.id }));
        stream.end(`got ${seen.body.length}`);
        return;
      }
      const body = JSON.stringify({ backend: b.id, path: url.pathname, headers: seen.headers, bytes: seen.body.length });
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': b.id });
      stream.end(body);
    };
    if (url.pathname === '/slow') setTimeout(answer, Number(url.searchParams.get('ms') ?? '1000'));
    else answer();
  });
};

/** One request on an HTTP/2 client session: status, headers, body and trailers. */
export function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
  trailers?: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer; trailers: IncomingHttpHeaders | undefined }> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined && trailers === undefined, waitForTrailers: trailers !== undefined });
    let head: IncomingHttpHeaders = {};
    let tr: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => (head = h));
    req.on('trailers', (t) => (tr = t));
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks), trailers: tr }));
    req.on('error', reject);
    if (trailers !== undefined) req.on('wantTrailers', () => req.sendTrailers(trailers));
    if (body !== undefined || trailers !== undefined) req.end(body);
  });
}
