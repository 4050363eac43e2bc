import { COLON, CR, equalsLower, FIELD_VCHAR, HEX, HOST_CHAR, HTAB, LF, SP, TARGET_CHAR, TCHAR } from './chars.js';

/**
 * The strict HTTP/1.1 head parser of the data plane (RFC 9112; SPEC "Request path"). It reads a
 * head straight out of the receive buffer into offsets: no string is made except the request
 * target and the Host value, which routing needs. Every leniency llhttp offers is off; there is no
 * flag to turn one on.
 *
 * Result of a parse: the offset just past the head's blank line (> 0), NEED_MORE (0), or a
 * negative ParseError.
 */

export const NEED_MORE = 0;

/** Why a head was refused; the status the client gets is `errorStatus(code)`. */
export const ParseError = {
  /** Malformed syntax: 400. */
  BAD_REQUEST: -400,
  /** CONNECT: 405. */
  METHOD_NOT_ALLOWED: -405,
  /** Head over listen.maxHeaderSize, or too many fields: 431. */
  TOO_LARGE: -431,
  /** A transfer coding turnout does not know: 501. */
  NOT_IMPLEMENTED: -501,
  /** HTTP/2.0 and other versions: 505. */
  VERSION: -505,
} as const;

export function errorStatus(code: number): number {
  return -code;
}

/** Header kinds the engine acts on; everything else is OTHER and forwarded as it came. */
export const H = {
  OTHER: 0,
  HOST: 1,
  CONTENT_LENGTH: 2,
  TRANSFER_ENCODING: 3,
  CONNECTION: 4,
  /** keep-alive, proxy-connection, proxy-authorization, proxy-authenticate, te, trailer, http2-settings */
  HOP: 5,
  UPGRADE: 6,
  EXPECT: 7,
  X_FORWARDED_FOR: 8,
  /** x-forwarded-proto, x-forwarded-host: the proxy sets them. */
  X_FORWARDED_SET: 9,
  X_REQUEST_ID: 10,
  COOKIE: 11,
  X_TURNOUT_POOL: 12,
  /** A name with `_`: dropped unless listen.allowUnderscoreHeaders. */
  UNDERSCORE: 13,
  SET_COOKIE: 14,
} as const;

/** Most fields a head may have; more gets 431 (Node's llhttp default is 2000, nginx's is bounded by its buffers). */
export const MAX_FIELDS = 256;
const INITIAL_FIELDS = 16;
const EMPTY = Buffer.alloc(0);

export interface ParseLimits {
  /** Bytes of the whole head, request line included (listen.maxHeaderSize, default 16384). */
  readonly maxHeaderSize: number;
}


/**
 * The fields of one head as offsets into `buf`, kept on the connection and reused for every request
 * (no allocation per request). `fields` holds four numbers per field: line start, value start,
 * value end, kind; the line ends at the next field's start (or `end - 2`).
 */
export class RequestHead {
  buf: Buffer = EMPTY;
  /** Offset of the request line and just past the blank line that ends the head. */
  start = 0;
  end = 0;
  /** End of the request line (its CR). */
  lineEnd = 0;
  method = '';
  /** Offsets of the target in `buf`. */
  targetStart = 0;
  targetEnd = 0;
  /** The target as routing sees it: origin-form (an absolute-form target is reduced to its path). */
  path = '';
  absoluteForm = false;
  /** 10 or 11. */
  version = 11;
  /** Host value: the Host field, or the authority of an absolute-form target; '' when none. */
  host = '';
  /** Host lower case without the port, for routing. */
  hostname = '';
  contentLength = -1;
  chunked = false;
  connClose = false;
  connKeepAlive = false;
  connUpgrade = false;
  /** `Connection` named other fields (to strip); rare, so only a flag here. */
  connOther = false;
  upgrade = false;
  expectContinue = false;
  hasUnderscore = false;
  fieldCount = 0;
  /** Grown by the parser as needed, up to MAX_FIELDS. */
  fields = new Int32Array(INITIAL_FIELDS * 4);

  /** Drops the reference to the receive buffer once the request is over. */
  release(): void {
    this.buf = EMPTY;
  }

  /** True when the head has a field of `kind`. */
  has(kind: number): boolean {
    const f = this.fields;
    for (let i = 0; i < this.fieldCount; i++) if (f[i * 4 + 3] === kind) return true;
    return false;
  }

  /** The value of the first field of `kind` as a string, or undefined. */
  value(kind: number): string | undefined {
    const f = this.fields;
    for (let i = 0; i < this.fieldCount; i++) {
      if (f[i * 4 + 3] === kind) return this.buf.toString('latin1', f[i * 4 + 1] as number, f[i * 4 + 2] as number);
    }
    return undefined;
  }

  /** Every value of fields of `kind`, joined with `sep`; undefined when there is none. */
  values(kind: number, sep: string): string | undefined {
    let out: string | undefined;
    const f = this.fields;
    for (let i = 0; i < this.fieldCount; i++) {
      if (f[i * 4 + 3] !== kind) continue;
      const v = this.buf.toString('latin1', f[i * 4 + 1] as number, f[i * 4 + 2] as number);
      out = out === undefined ? v : out + sep + v;
    }
    return out;
  }

  /** Field i's name in lower case (only on rare paths: names listed in `Connection`). */
  nameLower(i: number): string {
    const start = this.fields[i * 4] as number;
    const colon = this.buf.indexOf(COLON, start);
    return this.buf.toString('latin1', start, colon).toLowerCase();
  }
}

/** What the engine needs from a response head (from a backend). */
export class ResponseHead {
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  status = 0;
  /** 10 or 11. */
  version = 11;
  contentLength = -1;
  chunked = false;
  connClose = false;
  connKeepAlive = false;
  connOther = false;
  fieldCount = 0;
  /** Grown by the parser as needed, up to MAX_FIELDS. */
  fields = new Int32Array(INITIAL_FIELDS * 4);

  nameLower(i: number): string {
    const start = this.fields[i * 4] as number;
    const colon = this.buf.indexOf(COLON, start);
    return this.buf.toString('latin1', start, colon).toLowerCase();
  }
}

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
      if (c === 0x73 && equalsLower(buf, s, len, 'set-cookie')) return H.SET_COOKIE;
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
function parseFields(buf: Buffer, pos: number, end: number, forRequest: boolean, head: { fieldCount: number; fields: Int32Array }): number {
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
function parseLength(buf: Buffer, s: number, e: number): number {
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
function codings(buf: Buffer, s: number, e: number, state: { last: number; seenChunked: boolean; unknown: boolean }): number {
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
function connectionTokens(buf: Buffer, s: number, e: number, head: { connClose: boolean; connKeepAlive: boolean; connOther: boolean }, up: { connUpgrade: boolean } | undefined): void {
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

const teState = { last: 0, seenChunked: false, unknown: false };

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
  head.hasUnderscore = false;
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
  head.targetStart = ts;
  head.targetEnd = pos;
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
    head.path = buf.toString('latin1', ts, head.targetEnd);
  } else if (first === 0x2a /* * */ && head.targetEnd === ts + 1) {
    if (method !== 'OPTIONS') return ParseError.BAD_REQUEST;
    head.path = '*';
  } else {
    const r = absoluteForm(buf, ts, head.targetEnd, head);
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
  teState.last = -1;
  teState.seenChunked = false;
  teState.unknown = false;
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
      case H.UNDERSCORE:
        head.hasUnderscore = true;
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

/**
 * uri-host [ ":" port ] (RFC 9110 §7.2): host bytes only, an IP-literal in brackets, and a port
 * of digits. A Host that is not one is refused: it would be routed on, and logged.
 */
function validHost(buf: Buffer, s: number, e: number): boolean {
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
  teState.last = -1;
  teState.seenChunked = false;
  teState.unknown = false;
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

/** Hex value of a chunk-size digit, or 255. Re-exported for the framing tracker. */
export { HEX };
