import { describe, expect, test } from 'vitest';
import { answerFields, answerHeaders } from '../../../src/proxy/h2/answer-reader.js';
import { ResponseHead } from '../../../src/proxy/head.js';
import { findHeadEnd, parseResponseHead } from '../../../src/proxy/parser.js';
import { buildResponseHead } from '../../../src/proxy/rewrite.js';

/** A backend's answer head as the engine parses it. */
function parsed(text: string): ResponseHead {
  const buf = Buffer.from(text, 'latin1');
  const resp = new ResponseHead();
  const end = findHeadEnd(buf, 0, buf.length);
  expect(end).toBe(buf.length);
  expect(parseResponseHead(buf, 0, end, resp)).toBeGreaterThan(0);
  return resp;
}

/** What the serialise-and-read path gave: the engine's rewritten HTTP/1.1 head, read back. */
function viaHttp1(text: string, tail: string): ReturnType<typeof answerHeaders> {
  const head = buildResponseHead(parsed(text), `${tail}connection: close\r\n`, false, false, undefined, 0, 0);
  const resp = new ResponseHead();
  expect(parseResponseHead(head, 0, findHeadEnd(head, 0, head.length), resp)).toBeGreaterThan(0);
  return answerHeaders(resp);
}

const STICKY = 'set-cookie: turnout_web=blue; Path=/; HttpOnly\r\n';

// [what, backend head, lines turnout adds, the header list the stream gets]
const CASES: [string, string, string, Record<string, unknown>][] = [
  ['a plain 200', 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n', '', { ':status': 200, 'content-type': 'text/plain', 'content-length': '5' }],
  [
    'hop-by-hop fields and those Connection lists are dropped',
    'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\nX-Secret: 1\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\nProxy-Connection: x\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n',
    '',
    { ':status': 200, 'x-kept': 'yes' },
  ],
  ['the sticky Set-Cookie joins the backend\'s', 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Length: 0\r\n\r\n', STICKY, { ':status': 200, 'set-cookie': ['a=1', 'turnout_web=blue; Path=/; HttpOnly'], 'content-length': '0' }],
  ['a sticky Set-Cookie alone', 'HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n', STICKY, { ':status': 404, 'set-cookie': ['turnout_web=blue; Path=/; HttpOnly'], 'content-length': '0' }],
  ['repeated fields become a list, names lower case', 'HTTP/1.1 204 No Content\r\nVary: a\r\nVARY: b\r\nTrailer: grpc-status\r\n\r\n', '', { ':status': 204, vary: ['a', 'b'], trailer: 'grpc-status' }],
];

describe('an answer head handed to an HTTP/2 stream as fields (answerFields)', () => {
  test.each(CASES)('%s', (_what, text, extra, want) => {
    expect(answerFields(parsed(text), extra)).toEqual(want);
  });

  test.each(CASES)('gives what serialising it as HTTP/1.1 and reading it back gave: %s', (_what, text, extra) => {
    expect(answerFields(parsed(text), extra)).toEqual(viaHttp1(text, extra));
  });
});
