import { CR, equalsLower, FIELD_VCHAR, LF, SP, TARGET_CHAR, TCHAR } from './chars.js';
import { codings, connectionTokens, parseFields, parseLength, resetCodings, validHost } from './fields.js';
import { H, NEED_MORE, ParseError, RequestHead, ResponseHead } from './head.js';
import type { ParseLimits } from './head.js';

/**
 * The strict HTTP/1.1 head parser of the data plane (RFC 9112; SPEC "Request path"). It reads a
 * head straight out of the receive buffer into offsets: no string is made except the request
 * target and the Host value, which routing needs. Every leniency llhttp offers is off; there is no
 * flag to turn one on.
 *
 * Result of a parse: the offset just past the head's blank line (> 0), NEED_MORE (0), or a
 * negative ParseError.
 */

// The parser's results and heads, for those who import the parser (bench/parser.mjs among them).
export { errorStatus, H, MAX_FIELDS, NEED_MORE, ParseError, RequestHead, ResponseHead } from './head.js';
export type { ParseLimits } from './head.js';

/**
 * Where a head may end in `buf[from..end)`: the offset just past the first blank line, looking
 * for CRLFCRLF and for a bare-LF blank line (which the full parse then refuses). -1 when none yet.
 * Native `indexOf` keeps a byte-at-a-time sender from costing a full parse per byte.
 */
export function findHeadEnd(buf: Buffer, from: number, end: number): number {
  const crlf = buf.indexOf('\r\n\r\n', from, 'latin1');
  if (crlf >= 0 && crlf + 4 <= end) return crlf + 4;
  // No CRLFCRLF yet: a bare-LF blank line ends the head early, so the parse can refuse it now
  // instead of waiting for the timeout. (Found after a CRLFCRLF it changes nothing: the parse
  // meets the bare LF before it gets there.)
  const lflf = buf.indexOf('\n\n', from, 'latin1');
  return lflf >= 0 && lflf + 2 <= end ? lflf + 2 : -1;
}


/** "HTTP/1.1" or "HTTP/1.0" at `p`: 11, 10; another HTTP/x.y: 0 (505); anything else: -1 (400). */
function version(buf: Buffer, p: number): number {
  if (buf[p] !== 0x48 || buf[p + 1] !== 0x54 || buf[p + 2] !== 0x54 || buf[p + 3] !== 0x50 || buf[p + 4] !== 0x2f) return -1;
  const major = (buf[p + 5] as number) - 0x30;
  const minor = (buf[p + 7] as number) - 0x30;
  if (buf[p + 6] !== 0x2e || major < 0 || major > 9 || minor < 0 || minor > 9) return -1;
  if (major === 1 && minor === 1) return 11;
  if (major === 1 && minor === 0) return 10;
  return 0;
}

/**
 * Parses a request head in `buf[start..end)`. `end` must be at or past the head's end (as
 * findHeadEnd reported); the caller enforces listen.maxHeaderSize on incomplete heads.
 */
export function parseRequestHead(buf: Buffer, start: number, end: number, limits: ParseLimits, head: RequestHead): number {
  head.buf = buf;
  head.start = start;
  head.contentLength = -1;
  head.chunked = false;
  head.connClose = false;
  head.connKeepAlive = false;
  head.connUpgrade = false;
  head.connOther = false;
  head.upgrade = false;
  head.expectContinue = false;
  head.absoluteForm = false;
  head.host = '';
  head.hostname = '';
  head.fieldCount = 0;

  // Method: a token, then exactly one SP.
  let pos = start;
  while (pos < end && TCHAR[buf[pos] as number] === 1) pos++;
  if (pos >= end) return NEED_MORE;
  if (pos === start || buf[pos] !== SP) return ParseError.BAD_REQUEST;
  const mlen = pos - start;
  // The common methods without making a string; others are sliced (a token, so ASCII).
  let method: string;
  const m0 = buf[start];
  if (mlen === 3 && m0 === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) method = 'GET';
  else if (mlen === 4 && m0 === 0x50 && buf[start + 1] === 0x4f && buf[start + 2] === 0x53 && buf[start + 3] === 0x54) method = 'POST';
  else if (mlen === 4 && m0 === 0x48 && buf[start + 1] === 0x45 && buf[start + 2] === 0x41 && buf[start + 3] === 0x44) method = 'HEAD';
  else method = buf.toString('latin1', start, pos);
  head.method = method;
  pos++;

  // Target: visible ASCII only, then exactly one SP.
  const ts = pos;
  while (pos < end && TARGET_CHAR[buf[pos] as number] === 1) pos++;
  if (pos >= end) return NEED_MORE;
  if (pos === ts || buf[pos] !== SP) return ParseError.BAD_REQUEST;
  const targetEnd = pos;
  pos++;

  if (end - pos < 10) return NEED_MORE;
  const v = version(buf, pos);
  if (v < 0) return ParseError.BAD_REQUEST;
  if (buf[pos + 8] !== CR || buf[pos + 9] !== LF) return ParseError.BAD_REQUEST;
  if (v === 0) return ParseError.VERSION;
  head.version = v;
  head.lineEnd = pos + 8;
  if (method === 'CONNECT') return ParseError.METHOD_NOT_ALLOWED;

  // Target forms (RFC 9112 §3.2): origin-form, absolute-form (http/https), `*` for OPTIONS only.
  const first = buf[ts] as number;
  if (first === 0x2f /* / */) {
    head.path = buf.toString('latin1', ts, targetEnd);
  } else if (first === 0x2a /* * */ && targetEnd === ts + 1) {
    if (method !== 'OPTIONS') return ParseError.BAD_REQUEST;
    head.path = '*';
  } else {
    const r = absoluteForm(buf, ts, targetEnd, head);
    if (r < 0) return r;
  }

  const afterFields = parseFields(buf, pos + 10, end, true, head);
  if (afterFields <= 0) return afterFields;
  if (afterFields - start > limits.maxHeaderSize) return ParseError.TOO_LARGE;
  head.end = afterFields;

  // Framing and the fields the engine acts on.
  let hosts = 0;
  let hostStart = 0;
  let hostEnd = 0;
  const teState = head.te;
  resetCodings(teState);
  let te = false;
  const f = head.fields;
  for (let i = 0; i < head.fieldCount; i++) {
    const k = i * 4;
    const vs = f[k + 1] as number;
    const ve = f[k + 2] as number;
    switch (f[k + 3]) {
      case H.HOST:
        hosts++;
        hostStart = vs;
        hostEnd = ve;
        break;
      case H.CONTENT_LENGTH:
        // More than one Content-Length, even equal ones, is refused (SPEC).
        if (head.contentLength >= 0) return ParseError.BAD_REQUEST;
        head.contentLength = parseLength(buf, vs, ve);
        if (head.contentLength < 0) return ParseError.BAD_REQUEST;
        break;
      case H.TRANSFER_ENCODING: {
        te = true;
        const r = codings(buf, vs, ve, teState);
        if (r < 0) return r;
        break;
      }
      case H.CONNECTION:
        connectionTokens(buf, vs, ve, head, head);
        break;
      case H.UPGRADE:
        head.upgrade = true;
        break;
      case H.EXPECT:
        if (equalsLower(buf, vs, ve - vs, '100-continue')) head.expectContinue = true;
        break;
      default:
        break;
    }
  }
  if (te) {
    if (head.version === 10) return ParseError.BAD_REQUEST; // RFC 9112 §6.1: faulty framing in 1.0
    if (head.contentLength >= 0) return ParseError.BAD_REQUEST;
    if (teState.unknown) return ParseError.NOT_IMPLEMENTED;
    if (teState.last !== 1) return ParseError.BAD_REQUEST;
    head.chunked = true;
  }
  if (head.version === 11 && hosts !== 1) return ParseError.BAD_REQUEST;
  if (hosts > 1) return ParseError.BAD_REQUEST;
  if (hosts === 1) {
    if (hostEnd === hostStart) {
      if (head.version === 11 && !head.absoluteForm) return ParseError.BAD_REQUEST;
    }
    if (!validHost(buf, hostStart, hostEnd)) return ParseError.BAD_REQUEST;
    if (!head.absoluteForm) {
      head.host = buf.toString('latin1', hostStart, hostEnd);
      head.hostname = hostnameOf(head.host);
    }
  }
  return afterFields;
}

/** Reduces `http://authority/path?q` to its path (routing) and authority (the Host to use). */
function absoluteForm(buf: Buffer, s: number, e: number, head: RequestHead): number {
  let p = s;
  if (equalsLower(buf, s, 7, 'http://')) p = s + 7;
  else if (equalsLower(buf, s, 8, 'https://')) p = s + 8;
  else return ParseError.BAD_REQUEST;
  const as = p;
  while (p < e && buf[p] !== 0x2f && buf[p] !== 0x3f) p++;
  if (p === as) return ParseError.BAD_REQUEST;
  if (!validHost(buf, as, p)) return ParseError.BAD_REQUEST; // no userinfo (`@`)
  head.absoluteForm = true;
  head.host = buf.toString('latin1', as, p);
  head.hostname = hostnameOf(head.host);
  head.path = p === e ? '/' : buf[p] === 0x3f ? `/${buf.toString('latin1', p, e)}` : buf.toString('latin1', p, e);
  return 0;
}

/** Host without port, lower case; an IPv6 literal keeps its brackets. */
export function hostnameOf(h: string): string {
  if (h.charCodeAt(0) === 0x5b /* [ */) {
    const close = h.indexOf(']');
    return (close > 0 ? h.slice(0, close + 1) : h).toLowerCase();
  }
  const colon = h.indexOf(':');
  const name = colon >= 0 ? h.slice(0, colon) : h;
  // Most hosts arrive lower case already: skip the copy then.
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return name.toLowerCase();
  }
  return name;
}

/**
 * Parses a response head from a backend. Less is refused than from clients (a backend is trusted
 * more than the internet) but framing is strict: conflicting lengths or garbage make the answer
 * a 502, never a guess.
 */
export function parseResponseHead(buf: Buffer, start: number, end: number, head: ResponseHead): number {
  head.buf = buf;
  head.start = start;
  head.contentLength = -1;
  head.chunked = false;
  head.connClose = false;
  head.connKeepAlive = false;
  head.connOther = false;
  head.fieldCount = 0;
  if (end - start < 13) return NEED_MORE;
  const v = version(buf, start);
  if (v <= 0 || buf[start + 8] !== SP) return ParseError.BAD_REQUEST;
  head.version = v;
  const d0 = (buf[start + 9] as number) - 0x30;
  const d1 = (buf[start + 10] as number) - 0x30;
  const d2 = (buf[start + 11] as number) - 0x30;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return ParseError.BAD_REQUEST;
  head.status = d0 * 100 + d1 * 10 + d2;
  let pos = start + 12;
  if (buf[pos] === SP) {
    pos++;
    while (pos < end && FIELD_VCHAR[buf[pos] as number] === 1) pos++;
  }
  if (pos + 1 >= end) return NEED_MORE;
  if (buf[pos] !== CR || buf[pos + 1] !== LF) return ParseError.BAD_REQUEST;
  const after = parseFields(buf, pos + 2, end, false, head);
  if (after <= 0) return after;
  head.end = after;
  const teState = head.te;
  resetCodings(teState);
  let te = false;
  const f = head.fields;
  for (let i = 0; i < head.fieldCount; i++) {
    const k = i * 4;
    const vs = f[k + 1] as number;
    const ve = f[k + 2] as number;
    const kind = f[k + 3];
    if (kind === H.CONTENT_LENGTH) {
      const n = parseLength(buf, vs, ve);
      if (n < 0 || (head.contentLength >= 0 && head.contentLength !== n)) return ParseError.BAD_REQUEST;
      head.contentLength = n;
    } else if (kind === H.TRANSFER_ENCODING) {
      te = true;
      const r = codings(buf, vs, ve, teState);
      if (r < 0) return r;
    } else if (kind === H.CONNECTION) {
      connectionTokens(buf, vs, ve, head, undefined);
    }
  }
  if (te) {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; a backend sending both is refused
    // (a 502 is safer than guessing which framing it meant).
    if (head.contentLength >= 0) return ParseError.BAD_REQUEST;
    if (teState.last === 1) head.chunked = true;
    else head.connClose = true; // not chunked last: the body runs until the backend closes
  }
  return after;
}
