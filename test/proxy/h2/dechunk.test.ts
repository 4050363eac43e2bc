import { describe, expect, test } from 'vitest';
import { Dechunker, DECHUNK_ERROR, DECHUNK_MORE } from '../../../src/proxy/h2/dechunk.js';

/** Feeds `parts` one after another; the decoded data, the trailers and what the last feed returned. */
function run(parts: readonly string[]): { data: string; trailers: string[] | undefined; result: number; done: boolean } {
  const d = new Dechunker();
  let data = '';
  let result = DECHUNK_MORE;
  for (const p of parts) {
    const buf = Buffer.from(p, 'latin1');
    result = d.feed(buf, 0, buf.length, (b, s, e) => (data += b.toString('latin1', s, e)));
    if (result === DECHUNK_ERROR) break;
  }
  return { data, trailers: d.trailers, result, done: d.done };
}

describe('Dechunker: chunked bodies decoded with their trailers (for HTTP/2 DATA and trailing HEADERS)', () => {
  const rows: { name: string; parts: string[]; data: string; trailers?: string[]; result: number }[] = [
    { name: 'one chunk, no trailers', parts: ['5\r\nhello\r\n0\r\n\r\n'], data: 'hello', result: 15 },
    { name: 'split everywhere', parts: ['5', '\r', '\nhel', 'lo\r\n', '0\r', '\n', '\r', '\n'], data: 'hello', result: 1 },
    { name: 'extensions ignored', parts: ['3;x=y\r\nabc\r\n0\r\n\r\n'], data: 'abc', result: 17 },
    { name: 'trailers kept, names lower case', parts: ['2\r\nab\r\n0\r\nGrpc-Status: 0\r\nx-t: a b\r\n\r\n'], data: 'ab', trailers: ['grpc-status', '0', 'x-t', 'a b'], result: 38 },
    { name: 'trailers split over feeds', parts: ['0\r\ngrpc-st', 'atus: 13\r\n', '\r', '\n'], data: '', trailers: ['grpc-status', '13'], result: 1 },
    { name: 'bytes after the end are left', parts: ['1\r\nx\r\n0\r\n\r\nGET /'], data: 'x', result: 11 },
    { name: 'hex sizes upper and lower case', parts: ['A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n'], data: '0123456789abcdefghij', result: 35 },
    { name: 'not a size', parts: ['x\r\n'], data: '', result: DECHUNK_ERROR },
    { name: 'a chunk longer than announced', parts: ['1\r\nab\r\n'], data: 'a', result: DECHUNK_ERROR },
    { name: 'incomplete', parts: ['5\r\nhel'], data: 'hel', result: DECHUNK_MORE },
  ];
  test.each(rows)('$name', (row) => {
    const r = run(row.parts);
    expect(r.data).toBe(row.data);
    expect(r.result).toBe(row.result);
    expect(r.trailers).toEqual(row.trailers);
    expect(r.done).toBe(row.result >= 0);
  });
});
