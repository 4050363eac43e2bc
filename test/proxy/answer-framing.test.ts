import { describe, expect, test } from 'vitest';
import { AnswerFraming, answerFraming } from '../../src/proxy/answer-framing.js';
import type { AnswerFacts } from '../../src/proxy/answer-framing.js';
import { Framing } from '../../src/proxy/framing.js';

const { NONE, LENGTH, CHUNKED, CLOSE } = Framing;

function resp(over: Partial<AnswerFacts>): AnswerFacts {
  return { status: 200, version: 11, chunked: false, contentLength: 5, connClose: false, ...over };
}

describe('answer framing', () => {
  test.each([
    // what, method, client version, answer, keepWanted → mode, reusable, dechunk, keepAlive
    ['a length answer keeps both connections', 'GET', 11, resp({}), true, LENGTH, true, false, true],
    ['HEAD: no body whatever the head says', 'HEAD', 11, resp({ chunked: true, contentLength: -1 }), true, NONE, true, false, true],
    ['204: no body', 'GET', 11, resp({ status: 204, contentLength: -1 }), true, NONE, true, false, true],
    ['304: no body, its Content-Length describes the resource', 'GET', 11, resp({ status: 304, contentLength: 1000 }), true, NONE, true, false, true],
    ['chunked to HTTP/1.1 passes through', 'GET', 11, resp({ chunked: true, contentLength: -1 }), true, CHUNKED, true, false, true],
    ['chunked to an HTTP/1.0 client: decoded, then the client connection closes', 'GET', 10, resp({ chunked: true, contentLength: -1 }), true, CHUNKED, true, true, false],
    ['close-delimited: neither connection stays', 'GET', 11, resp({ contentLength: -1 }), true, CLOSE, false, false, false],
    ['Connection: close from the backend: its socket is not reused, the client keeps its own', 'GET', 11, resp({ connClose: true }), true, LENGTH, false, false, true],
    ['an HTTP/1.0 backend: its socket is not reused', 'GET', 11, resp({ version: 10 }), true, LENGTH, false, false, true],
    ['the request side wants close (client close, shutting down, body not whole)', 'GET', 11, resp({}), false, LENGTH, true, false, false],
    ['a length answer to an HTTP/1.0 client that asked for keep-alive', 'GET', 10, resp({}), true, LENGTH, true, false, true],
  ])('%s', (_what, method, clientVersion, facts, keepWanted, mode, reusable, dechunk, keepAlive) => {
    const out = new AnswerFraming();
    answerFraming(out, method, clientVersion, facts, keepWanted);
    expect({ mode: out.mode, reusable: out.reusable, dechunk: out.dechunk, keepAlive: out.keepAlive }).toEqual({ mode, reusable, dechunk, keepAlive });
  });

  test('one AnswerFraming is refilled for each answer (nothing left from the previous one)', () => {
    const out = new AnswerFraming();
    answerFraming(out, 'GET', 10, resp({ chunked: true, contentLength: -1 }), true);
    answerFraming(out, 'GET', 11, resp({}), true);
    expect({ mode: out.mode, reusable: out.reusable, dechunk: out.dechunk, keepAlive: out.keepAlive }).toEqual({ mode: LENGTH, reusable: true, dechunk: false, keepAlive: true });
  });
});
