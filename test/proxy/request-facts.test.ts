import { describe, expect, test } from 'vitest';
import { Framing } from '../../src/proxy/framing.js';
import { RequestHead } from '../../src/proxy/head.js';
import { parseRequestHead } from '../../src/proxy/parser.js';
import { isWebSocket, keepAliveWanted, requestFraming, upgradeWanted } from '../../src/proxy/request-facts.js';

function head(raw: string): RequestHead {
  const h = new RequestHead();
  const buf = Buffer.from(raw.replaceAll('\n', '\r\n'), 'latin1');
  const r = parseRequestHead(buf, 0, buf.length, { maxHeaderSize: 16384 }, h);
  if (r <= 0) throw new Error(`refused: ${r}`);
  return h;
}

describe('request facts', () => {
  test.each([
    ['GET without a body', 'GET / HTTP/1.1\nhost: a\n\n', Framing.NONE, true],
    ['Content-Length: 0 is no body', 'POST / HTTP/1.1\nhost: a\ncontent-length: 0\n\n', Framing.NONE, true],
    ['a length', 'POST / HTTP/1.1\nhost: a\ncontent-length: 3\n\n', Framing.LENGTH, true],
    ['chunked', 'POST / HTTP/1.1\nhost: a\ntransfer-encoding: chunked\n\n', Framing.CHUNKED, true],
    ['HTTP/1.1 with close', 'GET / HTTP/1.1\nhost: a\nconnection: close\n\n', Framing.NONE, false],
    ['HTTP/1.0 closes by default', 'GET / HTTP/1.0\n\n', Framing.NONE, false],
    ['HTTP/1.0 with keep-alive', 'GET / HTTP/1.0\nconnection: keep-alive\n\n', Framing.NONE, true],
  ])('%s', (_what, raw, framing, keep) => {
    const h = head(raw);
    expect(requestFraming(h)).toBe(framing);
    expect(keepAliveWanted(h, false)).toBe(keep);
    expect(keepAliveWanted(h, true)).toBe(false);
  });

  test.each([
    ['a WebSocket upgrade', 'GET / HTTP/1.1\nhost: a\nconnection: upgrade\nupgrade: websocket\n\n', true, true],
    ['Upgrade not named in Connection: not an upgrade', 'GET / HTTP/1.1\nhost: a\nupgrade: websocket\n\n', false, true],
    ['h2c is never forwarded', 'GET / HTTP/1.1\nhost: a\nconnection: upgrade, http2-settings\nupgrade: h2c\n\n', false, false],
    ['another protocol', 'GET / HTTP/1.1\nhost: a\nconnection: Upgrade\nupgrade: foo/2\n\n', true, false],
  ])('%s', (_what, raw, upgrade, websocket) => {
    const h = head(raw);
    expect(upgradeWanted(h)).toBe(upgrade);
    expect(isWebSocket(h)).toBe(websocket);
  });
});
