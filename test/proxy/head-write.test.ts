import { describe, expect, test } from 'vitest';
import { ResponseHead } from '../../src/proxy/head.js';
import { INLINE_BODY, writeAnswer, writeRequest } from '../../src/proxy/head-write.js';
import type { HeadSink } from '../../src/proxy/head-write.js';
import { parseResponseHead } from '../../src/proxy/parser.js';
import { buildResponseHead } from '../../src/proxy/rewrite.js';

/** Records what a head write does: the calls in order and the bytes of each write. */
class Recorder implements HeadSink {
  readonly calls: string[] = [];
  readonly writes: Buffer[] = [];
  cork(): void {
    this.calls.push('cork');
  }
  uncork(): void {
    this.calls.push('uncork');
  }
  write(data: Buffer): boolean {
    this.calls.push('write');
    this.writes.push(data);
    return true;
  }
  get bytes(): string {
    return Buffer.concat(this.writes).toString('latin1');
  }
}

/** A backend's answer in a receive buffer, parsed; `extra` lines make its head longer than the rewrite. */
function answer(extra: string, body: string): { data: Buffer; resp: ResponseHead; end: number } {
  const data = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`, 'latin1');
  const resp = new ResponseHead();
  const end = parseResponseHead(data, 0, data.length, resp);
  return { data, resp, end };
}

describe('writing an answer head with its first body bytes', () => {
  const long = 'keep-alive: timeout=5\r\nconnection: keep-alive\r\n';
  test.each([
    ['the rewritten head fits in the old one: one write from the receive buffer', long, 'hello', 'connection: keep-alive\r\n', ['write'], true],
    ['a longer head and a small body: one write, body copied', '', 'hello', 'x-long: '.padEnd(64, 'x') + '\r\n', ['write'], false],
    ['a longer head and a large body: corked second buffer', '', 'b'.repeat(INLINE_BODY + 1), 'x-long: '.padEnd(64, 'x') + '\r\n', ['cork', 'write', 'write', 'uncork'], false],
  ])('%s', (_what, extra, body, tail, calls, inPlace) => {
    const { data, resp, end } = answer(extra, body);
    const newHead = buildResponseHead(resp, tail, false, false, undefined, 0, 0);
    const expected = newHead.toString('latin1') + body;
    const sink = new Recorder();
    expect(writeAnswer(sink, resp, newHead, data, end, data.length)).toBe(true);
    expect(sink.calls).toEqual(calls);
    expect(sink.bytes).toBe(expected);
    // In place: the one write is a slice of the receive buffer itself (no copy of the body).
    const w = sink.writes[0] as Buffer;
    const inside = w.buffer === data.buffer && w.byteOffset >= data.byteOffset && w.byteOffset + w.length <= data.byteOffset + data.length;
    expect(inside).toBe(inPlace);
  });
});

describe('writing a request head with the body bytes that came with it', () => {
  test.each([
    ['small: already in the head, one write', INLINE_BODY, ['write'], 1],
    ['large: corked second buffer', INLINE_BODY + 1, ['cork', 'write', 'write', 'uncork'], 2],
  ])('%s', (_what, size, calls, writes) => {
    const body = Buffer.alloc(size + 10, 0x61);
    const sink = new Recorder();
    writeRequest(sink, Buffer.from('HEAD'), body, 10, 10 + size);
    expect(sink.calls).toEqual(calls);
    expect(sink.writes.length).toBe(writes);
    if (writes === 2) expect(sink.writes[1]?.length).toBe(size);
  });
});
