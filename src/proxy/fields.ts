import { COLON, CR, equalsLower, FIELD_VCHAR, HEX, HOST_CHAR, HTAB, LF, SP, TCHAR } from './chars.js';
import { H, MAX_FIELDS, NEED_MORE, ParseError } from './head.js';
import type { CodingState } from './head.js';

/**
 * The field lines of a head and the values the engine reads: names classified into H kinds,
 * Content-Length, Transfer-Encoding codings, Connection tokens and Host. Each reads bytes in
 * place; no string is made on the common path.
 */

/** The kind of the field name at `buf[s..s+len)`; H.OTHER for names the engine forwards untouched. */
function classify(buf: Buffer, s: number, len: number, forRequest: boolean): number {
  const c = (buf[s] as number) | 0x20;
  switch (len) {
    case 2:
      return equalsLower(buf, s, len, 'te') ? H.HOP : H.OTHER;
    case 4:
      return c === 0x68 /* h */ && equalsLower(buf, s, len, 'host') ? H.HOST : H.OTHER;
    case 6:
      if (c === 0x63 && equalsLower(buf, s, len, 'cookie')) return H.COOKIE;
      if (c === 0x65 && equalsLower(buf, s, len, 'expect')) return H.EXPECT;
      return H.OTHER;
    case 7:
      if (c === 0x75 && equalsLower(buf, s, len, 'upgrade')) return H.UPGRADE;
      if (c === 0x74 && equalsLower(buf, s, len, 'trailer')) return forRequest ? H.HOP : H.OTHER;
      return H.OTHER;
    case 10:
      if (c === 0x63 && equalsLower(buf, s, len, 'connection')) return H.CONNECTION;
      if (c === 0x6b && equalsLower(buf, s, len, 'keep-alive')) return H.HOP;
      return H.OTHER;
    case 12:
      return c === 0x78 && equalsLower(buf, s, len, 'x-request-id') ? H.X_REQUEST_ID : H.OTHER;
    case 14:
      if (c === 0x63 && equalsLower(buf, s, len, 'content-length')) return H.CONTENT_LENGTH;
      if (c === 0x78 && equalsLower(buf, s, len, 'x-turnout-pool')) return H.X_TURNOUT_POOL;
      if (c === 0x68 && equalsLower(buf, s, len, 'http2-settings')) return H.HOP;
      return H.OTHER;
    case 15:
      return c === 0x78 && equalsLower(buf, s, len, 'x-forwarded-for') ? H.X_FORWARDED_FOR : H.OTHER;
    case 16:
      if (c === 0x70 && equalsLower(buf, s, len, 'proxy-connection')) return H.HOP;
      if (c === 0x78 && equalsLower(buf, s, len, 'x-forwarded-host')) return H.X_FORWARDED_SET;
      return H.OTHER;
    case 17:
      if (c === 0x74 && equalsLower(buf, s, len, 'transfer-encoding')) return H.TRANSFER_ENCODING;
      if (c === 0x78 && equalsLower(buf, s, len, 'x-forwarded-proto')) return H.X_FORWARDED_SET;
      return H.OTHER;
    case 18:
      return c === 0x70 && equalsLower(buf, s, len, 'proxy-authenticate') ? H.HOP : H.OTHER;
    case 19:
      return c === 0x70 && equalsLower(buf, s, len, 'proxy-authorization') ? H.HOP : H.OTHER;
    default:
      return H.OTHER;
  }
}

/**
 * Parses the header fields from `pos` (the start of the first field line) to the blank line.
 * Returns the offset past the blank line, or a ParseError. Shared by requests and responses.
 */
export function parseFields(buf: Buffer, pos: number, end: number, forRequest: boolean, head: { fieldCount: number; fields: Int32Array }): number {
  let n = 0;
  let fields = head.fields;
  for (;;) {
    if (pos >= end) return NEED_MORE;
    const first = buf[pos] as number;
    if (first === CR) {
      if (pos + 1 >= end) return NEED_MORE;
      if (buf[pos + 1] !== LF) return ParseError.BAD_REQUEST;
      head.fieldCount = n;
      return pos + 2;
    }
    // obs-fold (a line starting with whitespace), or a bare LF: refused.
    if (first === SP || first === HTAB || first === LF) return ParseError.BAD_REQUEST;
    const nameStart = pos;
    while (pos < end && TCHAR[buf[pos] as number] === 1) pos++;
    if (pos >= end) return NEED_MORE;
    // Whitespace before the colon, or any byte outside token, ends the name early: refused.
    if (buf[pos] !== COLON || pos === nameStart) return ParseError.BAD_REQUEST;
    const nameLen = pos - nameStart;
    pos++;
    while (pos < end && (buf[pos] === SP || buf[pos] === HTAB)) pos++;
    const valueStart = pos;
    while (pos < end && FIELD_VCHAR[buf[pos] as number] === 1) pos++;
    if (pos >= end) return NEED_MORE;
    // The value ends at CR LF; a bare CR, a bare LF, NUL or another control is refused.
    if (buf[pos] !== CR) return ParseError.BAD_REQUEST;
    if (pos + 1 >= end) return NEED_MORE;
    if (buf[pos + 1] !== LF) return ParseError.BAD_REQUEST;
    let valueEnd = pos;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
    if (n === MAX_FIELDS) return ParseError.TOO_LARGE;
    if (n * 4 === fields.length) {
      // Grown on demand: an idle connection keeps a small array (10,000 of them must stay cheap).
      const bigger = new Int32Array(Math.min(MAX_FIELDS * 4, fields.length * 2));
      bigger.set(fields);
      head.fields = fields = bigger;
    }
    let kind = classify(buf, nameStart, nameLen, forRequest);
    if (kind === H.OTHER && forRequest) {
      for (let i = nameStart; i < nameStart + nameLen; i++) {
        if (buf[i] === 0x5f /* _ */) {
          kind = H.UNDERSCORE;
          break;
        }
      }
    }
    const k = n * 4;
    fields[k] = nameStart;
    fields[k + 1] = valueStart;
    fields[k + 2] = valueEnd;
    fields[k + 3] = kind;
    n++;
    pos += 2;
  }
}

/** Parses a non-negative decimal Content-Length: digits only, at most 15 of them. -1 when malformed. */
export function parseLength(buf: Buffer, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Transfer codings turnout can frame through (the body is passed on as it came). */
const KNOWN_CODINGS = new Set(['chunked', 'gzip', 'x-gzip', 'deflate', 'compress', 'x-compress', 'identity']);

/**
 * Applies one Transfer-Encoding field value to the running state: 1 = chunked is last so far,
 * 0 = not chunked last, or a ParseError. `seenChunked` detects `chunked` twice.
 */
/** Before the fields of a new head. */
export function resetCodings(state: CodingState): void {
  state.last = -1;
  state.seenChunked = false;
  state.unknown = false;
}

export function codings(buf: Buffer, s: number, e: number, state: CodingState): number {
  let i = s;
  while (i <= e) {
    let j = i;
    while (j < e && buf[j] !== 0x2c /* , */) j++;
    let a = i;
    let b = j;
    while (a < b && (buf[a] === SP || buf[a] === HTAB)) a++;
    while (b > a && (buf[b - 1] === SP || buf[b - 1] === HTAB)) b--;
    // An empty list element (`, chunked`, `chunked,`) is refused.
    if (a === b) return ParseError.BAD_REQUEST;
    if (state.last === 1) return ParseError.BAD_REQUEST; // something after chunked: chunked is not final
    if (equalsLower(buf, a, b - a, 'chunked')) {
      if (state.seenChunked) return ParseError.BAD_REQUEST;
      state.seenChunked = true;
      state.last = 1;
    } else {
      if (!KNOWN_CODINGS.has(buf.toString('latin1', a, b).toLowerCase())) state.unknown = true;
      state.last = 0;
    }
    i = j + 1;
  }
  return 0;
}

/** Connection tokens: close, keep-alive, upgrade, and whether any other name is listed. */
export function connectionTokens(buf: Buffer, s: number, e: number, head: { connClose: boolean; connKeepAlive: boolean; connOther: boolean }, up: { connUpgrade: boolean } | undefined): void {
  let i = s;
  while (i <= e) {
    let j = i;
    while (j < e && buf[j] !== 0x2c) j++;
    let a = i;
    let b = j;
    while (a < b && (buf[a] === SP || buf[a] === HTAB)) a++;
    while (b > a && (buf[b - 1] === SP || buf[b - 1] === HTAB)) b--;
    if (b > a) {
      if (equalsLower(buf, a, b - a, 'close')) head.connClose = true;
      else if (equalsLower(buf, a, b - a, 'keep-alive')) head.connKeepAlive = true;
      else if (equalsLower(buf, a, b - a, 'upgrade')) {
        if (up !== undefined) up.connUpgrade = true;
      }
      else head.connOther = true;
    }
    i = j + 1;
  }
}

/**
 * uri-host [ ":" port ] (RFC 9110 §7.2): host bytes only, an IP-literal in brackets, and a port
 * of digits. A Host that is not one is refused: it would be routed on, and logged.
 */
export function validHost(buf: Buffer, s: number, e: number): boolean {
  let i = s;
  if (buf[s] === 0x5b /* [ */) {
    while (i < e && buf[i] !== 0x5d /* ] */) i++;
    if (i === e) return false;
    for (let j = s + 1; j < i; j++) {
      const c = buf[j] as number;
      if (HEX[c] === 255 && c !== 0x3a && c !== 0x2e) return false;
    }
    i++;
  } else {
    while (i < e && buf[i] !== 0x3a /* : */) {
      const c = buf[i] as number;
      if (HOST_CHAR[c] !== 1 || c === 0x5b || c === 0x5d) return false;
      i++;
    }
  }
  if (i === e) return true;
  if (buf[i] !== 0x3a || e - i > 6) return false;
  for (let j = i + 1; j < e; j++) if ((buf[j] as number) < 0x30 || (buf[j] as number) > 0x39) return false;
  return true;
}
