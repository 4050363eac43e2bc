import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, expect, onTestFinished, test } from 'vitest';
import { StreamSocket } from '../../../src/proxy/h2/stream-socket.js';
import { ResponseHead } from '../../../src/proxy/head.js';
import { findHeadEnd, parseResponseHead } from '../../../src/proxy/parser.js';

/*
 * The StreamSocket on a real node:http2 session on loopback, driven as the engine drives it: its
 * request head handed over on start(), answers written as HTTP/1.1 bytes or given as parsed
 * fields (FieldsSink), and what it says about the bytes it still holds (writableLength: a backend
 * read buffer is reused only when it is 0).
 */

interface Served {
  readonly socket: StreamSocket;
  readonly requestHead: string;
}

/** An h2c server whose every stream becomes a StreamSocket handed to `serve`; a client session to it. */
async function setup(serve: (s: Served) => void): Promise<http2.ClientHttp2Session> {
  const server = http2.createServer();
  server.on('stream', (stream, _headers, _flags, raw: string[]) => {
    const socket = new StreamSocket(stream, raw, stream.endAfterHeaders);
    let head = '';
    socket.on('data', (chunk: Buffer) => (head += chunk.toString('latin1')));
    socket.on('end', () => socket.destroy());
    socket.start();
    serve({ socket, requestHead: head });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  onTestFinished(async () => {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return client;
}

/** One GET: status, headers, body. */
function get(client: http2.ClientHttp2Session, path = '/x'): Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':path': path, cookie: 'a=1' });
    const parts: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (headers = h));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve({ headers, body: Buffer.concat(parts) }));
    req.on('error', reject);
    req.end();
  });
}

function parsed(buf: Buffer): { resp: ResponseHead; end: number } {
  const resp = new ResponseHead();
  const end = findHeadEnd(buf, 0, buf.length);
  expect(parseResponseHead(buf, 0, end, resp)).toBeGreaterThan(0);
  return { resp, end };
}

describe('StreamSocket: an HTTP/2 stream as the engine sees a client connection', () => {
  test('the request goes in as an HTTP/1.1 head; a small answer is copied, so the buffer it came in is free at once', async () => {
    let seen = '';
    let heldAfterWrite = -1;
    const client = await setup(({ socket, requestHead }) => {
      seen = requestHead;
      // As a backend's read buffer: overwritten by the next read as soon as writableLength is 0.
      const buf = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nx-a: 1\r\n\r\nhello', 'latin1');
      socket.write(buf);
      heldAfterWrite = socket.writableLength;
      buf.fill(0x7a);
      socket.end();
    });
    const r = await get(client);
    expect(seen).toMatch(/^GET \/x HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\n/);
    expect(seen).toContain('cookie: a=1\r\n');
    expect(seen.endsWith('connection: close\r\n\r\n')).toBe(true);
    expect(heldAfterWrite).toBe(0);
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['x-a']).toBe('1');
    expect(r.body.toString()).toBe('hello');
  });

  test('a parsed answer head given as fields (FieldsSink): the sticky line joins it, hop-by-hop fields stay out', async () => {
    const client = await setup(({ socket }) => {
      const buf = Buffer.from('HTTP/1.1 201 Created\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 3\r\n\r\nabc', 'latin1');
      const { resp, end } = parsed(buf);
      socket.answerHead(resp, 'set-cookie: turnout_web=blue; Path=/\r\n', buf, end, buf.length);
      socket.end();
    });
    const r = await get(client);
    expect(r.headers[':status']).toBe(201);
    expect(r.headers['set-cookie']).toEqual(['turnout_web=blue; Path=/']);
    expect(r.headers['keep-alive']).toBeUndefined();
    expect(r.body.toString()).toBe('abc');
  });

  test('a large answer piece is not copied: the stream holds the buffer (writableLength) until it is sent, byte-exact', async () => {
    const size = 64 * 1024;
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i++) body[i] = i % 251;
    let heldAfterWrite = -1;
    let served: StreamSocket | undefined;
    const client = await setup(({ socket }) => {
      const buf = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${size}\r\n\r\n`, 'latin1'), body]);
      const { resp, end } = parsed(buf);
      socket.answerHead(resp, '', buf, end, buf.length);
      heldAfterWrite = socket.writableLength;
      served = socket;
      socket.end();
    });
    const r = await get(client);
    expect(heldAfterWrite).toBe(size);
    expect(r.body.equals(body)).toBe(true);
    // Once nghttp2 has sent it, the buffer is the backend connection's again.
    for (let i = 0; i < 40 && served?.writableLength !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(served?.writableLength).toBe(0);
  });
});
