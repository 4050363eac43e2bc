import { describe, expect, test } from 'vitest';
import { HEAD_INCOMPLETE, HEAD_TOO_LARGE, Inbox } from '../../src/proxy/inbox.js';

const GET = 'GET / HTTP/1.1\r\nhost: a\r\n\r\n';

function inboxOf(...chunks: string[]): Inbox {
  const inbox = new Inbox();
  for (const c of chunks) inbox.append(Buffer.from(c, 'latin1'));
  return inbox;
}

describe('inbox: finding the next head', () => {
  test.each([
    // what, chunks, max header size → head start, head end (or a findHead result)
    ['a whole head', [GET], 100, 0, GET.length],
    ['a head in pieces', ['GET / HT', 'TP/1.1\r\nhost: a\r', '\n\r\n'], 100, 0, GET.length],
    ['empty lines before a request line are skipped', [`\r\n\r\n${GET}`], 100, 4, 4 + GET.length],
    ['not whole yet', ['GET / HTTP/1.1\r\nhost: a\r\n'], 100, 0, HEAD_INCOMPLETE],
    ['more than the limit without a whole head', [`GET /${'x'.repeat(200)}`], 100, 0, HEAD_TOO_LARGE],
    ['a whole head longer than the limit', [GET], 10, 0, HEAD_TOO_LARGE],
    ['a bare-LF blank line ends the head early (the parse refuses it)', ['GET / HTTP/1.1\nhost: a\n\n'], 100, 0, 24],
  ])('%s', (_what, chunks, max, start, end) => {
    const inbox = inboxOf(...chunks);
    expect(inbox.skipEmptyLines()).toBe(true);
    expect(inbox.start).toBe(start);
    expect(inbox.findHead(max)).toBe(end);
  });

  test.each([
    ['nothing but empty lines: nothing unread', ['\r\n\r\n'], 0, 4],
    ['a lone CR waits for its LF', ['\r\n\r'], 1, 2],
  ])('%s', (_what, chunks, size, start) => {
    const inbox = inboxOf(...chunks);
    expect(inbox.skipEmptyLines()).toBe(false);
    expect(inbox.size).toBe(size);
    expect(inbox.start).toBe(start);
  });

  test('pipelined requests: the second head is found after the first is consumed', () => {
    const inbox = inboxOf(GET + GET);
    expect(inbox.skipEmptyLines()).toBe(true);
    const end = inbox.findHead(100);
    inbox.consumed(inbox.buf as Buffer, end);
    expect(inbox.size).toBe(GET.length);
    expect(inbox.skipEmptyLines()).toBe(true);
    expect(inbox.findHead(100)).toBe(2 * GET.length);
    inbox.consumed(inbox.buf as Buffer, 2 * GET.length);
    expect(inbox.buf).toBeNull();
    expect(inbox.size).toBe(0);
  });

  test('bytes kept after a body (keep) are read first, then new ones appended', () => {
    const inbox = new Inbox();
    const chunk = Buffer.from(`BODY${GET.slice(0, 10)}`, 'latin1');
    inbox.keep(chunk, 4);
    inbox.append(Buffer.from(GET.slice(10), 'latin1'));
    expect(inbox.start).toBe(0);
    expect(inbox.size).toBe(GET.length);
    expect(inbox.skipEmptyLines()).toBe(true);
    expect(inbox.findHead(100)).toBe(GET.length);
  });
});
