import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { onTestFinished } from 'vitest';

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends `bytes` exactly as given on a fresh TCP connection and collects everything the server sends
 * until it closes the connection (send `Connection: close`). Rejects after `timeoutMs`.
 */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from 127.0.0.1:${port} within ${timeoutMs}ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err) => {
      // A reset after the answer is fine (the server closed with unread request bytes).
      if (chunks.length > 0) return;
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/** Parses one HTTP/1.1 response (status line, headers, the rest as the body, not de-chunked). */
export function parseRawResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const lines = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (m === null) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(m[1]), headers, body: text.slice(end + 4) };
}

export interface RawBackend {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A TCP server on 127.0.0.1:0 that hands every connection to `onConnection`: for backends that
 * misbehave at the byte level (cut headers, reset, never answer). Closed after the test.
 */
export async function startRawBackend(onConnection: (socket: Socket, index: number) => void): Promise<RawBackend> {
  const sockets = new Set<Socket>();
  let backend!: RawBackend;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // The proxy may reset a connection we are still writing to; that is the point of these backends.
    socket.on('error', () => undefined);
    onConnection(socket, backend.connections++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  backend = {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: 0,
    async close() {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  onTestFinished(() => backend.close());
  return backend;
}

/** Reads from `socket` until a blank line ends the request head; resolves with the head. */
export function readHead(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(buf.slice(0, end));
      }
    };
    const onClose = (): void => reject(new Error('closed before the request head ended'));
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

export interface RawOutcome {
  /** Everything the server sent (latin1). */
  readonly text: string;
  /** The server closed the connection (FIN or reset) before the wait ended. */
  readonly closed: boolean;
}

/**
 * Like rawExchange, but never rejects and does not wait out a server that keeps the connection
 * open: resolves when the server closes, or `closeGraceMs` after one complete response arrived
 * (`closed: false`), or at `timeoutMs`. For tables of requests run against an implementation that
 * may answer without closing.
 */
export function rawSend(port: number, bytes: string | Buffer, opts: { timeoutMs?: number; closeGraceMs?: number } = {}): Promise<RawOutcome> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const closeGraceMs = opts.closeGraceMs ?? 300;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    let grace: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      clearTimeout(grace);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (grace === undefined && takeResponse(Buffer.concat(chunks).toString('latin1'), { final: true }) !== undefined) {
        grace = setTimeout(() => finish(false), closeGraceMs);
      }
    });
    // A reset is a close too (the server closed with unread request bytes).
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
  });
}

export interface FramedResponse extends RawResponse {
  /** The response's bytes exactly as received (latin1), head and body. */
  readonly raw: string;
}

/**
 * Frames the first response at the front of `text` by HTTP/1.1 rules: no body for 1xx, 204, 304
 * and answers to HEAD (`head: true`), else chunked (body kept chunked, trailers included),
 * Content-Length, or close-delimited (complete only when `closed: true`). With `final: true`,
 * 1xx answers before it are skipped (and included in `raw`). Answers undefined while incomplete.
 */
export function takeResponse(
  text: string,
  opts: { head?: boolean; closed?: boolean; final?: boolean } = {},
): { response: FramedResponse; rest: string } | undefined {
  let start = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', start);
    if (end < 0) return undefined;
    const parsed = parseRawResponse(text.slice(start, end + 4));
    const bodyStart = end + 4;
    if (parsed.status < 200 && opts.final === true) {
      start = bodyStart;
      continue;
    }
    let bodyEnd: number | undefined;
    const te = parsed.headers['transfer-encoding'];
    const cl = parsed.headers['content-length'];
    if (parsed.status < 200 || parsed.status === 204 || parsed.status === 304 || opts.head === true) bodyEnd = bodyStart;
    else if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) bodyEnd = chunkedEnd(text, bodyStart);
    else if (cl !== undefined) bodyEnd = text.length >= bodyStart + Number(cl) ? bodyStart + Number(cl) : undefined;
    else if (opts.closed === true) bodyEnd = text.length;
    if (bodyEnd === undefined) return undefined;
    const raw = text.slice(0, bodyEnd);
    return { response: { ...parsed, body: text.slice(bodyStart, bodyEnd), raw }, rest: text.slice(bodyEnd) };
  }
}

/** Offset just past a chunked body starting at `from` (after the trailer section), or undefined while incomplete. */
export function chunkedEnd(text: string, from: number): number | undefined {
  let at = from;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(text.slice(at, eol).split(';')[0] ?? '', 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size line ${JSON.stringify(text.slice(at, eol))}`);
    if (size === 0) {
      // Trailer section: field lines until an empty line.
      let line = eol + 2;
      for (;;) {
        const next = text.indexOf('\r\n', line);
        if (next < 0) return undefined;
        if (next === line) return next + 2;
        line = next + 2;
      }
    }
    at = eol + 2 + size + 2;
    if (text.length < at) return undefined;
  }
}

export interface RawClient {
  readonly socket: Socket;
  /** Everything received so far (latin1). */
  text(): string;
  /** The server has closed the connection (FIN or reset). */
  closed(): boolean;
  /** Resolves once `done(text)` holds; rejects after `timeoutMs` with what arrived. */
  until(done: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves once the server closes; rejects after `timeoutMs`. */
  whenClosed(timeoutMs?: number): Promise<void>;
}

/** A connection to 127.0.0.1:port that stays open, for byte-level conversations. Destroyed after the test. */
export async function openRawClient(port: number): Promise<RawClient> {
  const socket = net.connect(port, '127.0.0.1');
  onTestFinished(() => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  let isClosed = false;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of waiters) w();
  };
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    wake();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    isClosed = true;
    wake();
  });
  const text = (): string => Buffer.concat(chunks).toString('latin1');
  const wait = (check: () => boolean, timeoutMs: number, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = (): void => {
        if (!check()) return;
        waiters.delete(w);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`${what} within ${timeoutMs}ms; got ${JSON.stringify(text().slice(-300))}`));
      }, timeoutMs);
      waiters.add(w);
      w();
    });
  return {
    socket,
    text,
    closed: () => isClosed,
    async until(done, timeoutMs = 5000) {
      await wait(() => done(text()) || isClosed, timeoutMs, 'condition not met');
      if (!done(text())) throw new Error(`connection closed before the condition held; got ${JSON.stringify(text().slice(-300))}`);
      return text();
    },
    whenClosed: (timeoutMs = 5000) => wait(() => isClosed, timeoutMs, 'no close'),
  };
}

/**
 * The payload of a complete chunked body (`raw` as on the wire, latin1), chunk extensions and the
 * trailer section dropped; throws on a framing error.
 */
export function dechunk(raw: string): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) throw new Error(`chunked body ends early at ${at}`);
    const sizeText = raw.slice(at, eol).split(';')[0] ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(sizeText)}`);
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) return Buffer.concat(parts);
    parts.push(Buffer.from(raw.slice(eol + 2, eol + 2 + size), 'latin1'));
    if (raw.slice(eol + 2 + size, eol + 4 + size) !== '\r\n') throw new Error(`chunk data not followed by CRLF at ${eol + 2 + size}`);
    at = eol + 4 + size;
  }
  throw new Error('more than 1,000,000 chunks');
}
