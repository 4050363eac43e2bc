import { describe, expect, test } from 'vitest';
import { RequestHead } from '../../../src/proxy/head.js';
import { findHeadEnd, parseRequestHead } from '../../../src/proxy/parser.js';
import { AnswerBody, upstreamAnswerHead, upstreamRequestHeaders } from '../../../src/proxy/h2/upstream-head.js';

function head(text: string): RequestHead {
  const buf = Buffer.from(text, 'latin1');
  const h = new RequestHead();
  expect(parseRequestHead(buf, 0, findHeadEnd(buf, 0, buf.length), { maxHeaderSize: 65536 }, h)).toBeGreaterThan(0);
  return h;
}

describe('the HTTP/1.1 request the engine rewrote, as an HTTP/2 header list for an h2 backend', () => {
  test('pseudo-headers from the request line and Host; connection-specific fields dropped; repeated ones kept', () => {
    const r = upstreamRequestHeaders(
      head('POST /a?b=1 HTTP/1.1\r\nHost: app.test:8080\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\nX-A: 1\r\nx-a: 2\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n'),
      'http',
      0,
      0,
    );
    expect(r.headers).toEqual({ ':method': 'POST', ':scheme': 'http', ':path': '/a?b=1', ':authority': 'app.test:8080', 'x-a': ['1', '2'], 'x-forwarded-for': '10.0.0.1' });
    expect(r.grpc).toBe(false);
  });

  test('gRPC: te: trailers added, grpc-timeout replaced by the time left', () => {
    const r = upstreamRequestHeaders(head('POST /pkg.Svc/M HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc+proto\r\ngrpc-timeout: 5S\r\n\r\n'), 'https', 10_000, 8_500);
    expect(r.grpc).toBe(true);
    expect(r.headers.te).toBe('trailers');
    expect(r.headers['grpc-timeout']).toBe('1500m');
    expect(r.headers[':scheme']).toBe('https');
  });
});

describe("the h2 backend's answer head as the HTTP/1.1 head the engine relays", () => {
  const rows: { name: string; raw: string[]; end: boolean; head?: boolean; body: number; text: string; grpc?: string }[] = [
    {
      name: 'a length is kept',
      raw: [':status', '200', 'content-length', '5', 'x-b', '1'],
      end: false,
      body: AnswerBody.LENGTH,
      text: 'HTTP/1.1 200 OK\r\nx-b: 1\r\ncontent-length: 5\r\nconnection: close\r\n\r\n',
    },
    { name: 'no length: chunked', raw: [':status', '404'], end: false, body: AnswerBody.CHUNKED, text: 'HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n' },
    {
      name: 'gRPC is always chunked (its trailers travel in the last chunk)',
      raw: [':status', '200', 'content-type', 'application/grpc', 'content-length', '10'],
      end: false,
      body: AnswerBody.CHUNKED,
      text: 'HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n',
    },
    {
      name: 'trailers-only (END_STREAM on the HEADERS): an empty body, grpc-status read',
      raw: [':status', '200', 'content-type', 'application/grpc', 'grpc-status', '14', 'grpc-message', 'down'],
      end: true,
      body: AnswerBody.NONE,
      grpc: '14',
      text: 'HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: 14\r\ngrpc-message: down\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    },
    { name: '204 has no body and no length', raw: [':status', '204'], end: true, body: AnswerBody.NONE, text: 'HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n' },
    {
      name: 'HEAD keeps the length, no body',
      raw: [':status', '200', 'content-length', '99'],
      end: true,
      head: true,
      body: AnswerBody.NONE,
      text: 'HTTP/1.1 200 OK\r\ncontent-length: 99\r\nconnection: close\r\n\r\n',
    },
    { name: '103 is informational', raw: [':status', '103', 'link', '</a>'], end: false, body: AnswerBody.NONE, text: 'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n' },
  ];
  test.each(rows)('$name', (row) => {
    const a = upstreamAnswerHead(row.raw, row.end, row.head === true);
    expect(a.head.toString('latin1')).toBe(row.text);
    expect(a.body).toBe(row.body);
    expect(a.grpcStatus).toBe(row.grpc);
  });
});
