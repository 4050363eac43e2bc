import { H } from './head.js';
import type { RequestHead, ResponseHead } from './head.js';

/**
 * Head rewriting, done once per message and in one place (as Go's removeHopByHopHeaders): the
 * lines that stay are copied as bytes from the receive buffer, the proxy's own lines are appended,
 * and the first body bytes follow in the same buffer so a message leaves in one write.
 */

/** Per-request facts the request rewrite needs beyond the head. */
export interface RequestRewrite {
  /** `X-Forwarded-Proto` value. */
  readonly proto: string;
  /** The client's address, appended to X-Forwarded-For. */
  readonly remote: string;
  readonly allowUnderscoreHeaders: boolean;
  /** The Host line to send instead of the client's (`host: 127.0.0.1:3001\r\n`), or undefined to pass the client's through. */
  readonly hostLine: string | undefined;
  /** Keep Upgrade and send `Connection: upgrade` (a WebSocket handshake). */
  readonly upgrade: boolean;
  /** A generated X-Request-Id, when the client sent none. */
  readonly requestId: string | undefined;
  /** Lines the proxy adds after its own (each with CRLF): a mirrored copy's `x-turnout-mirror: 1`. */
  readonly extraLines?: string;
}

/** A RequestRewrite an exchange fills for each request: one object per exchange, nothing allocated per request. */
export type RewriteSlot = { -readonly [K in keyof RequestRewrite]: RequestRewrite[K] };

/** An empty RewriteSlot (`extraLines`: lines every request it builds carries). */
export function rewriteSlot(extraLines?: string): RewriteSlot {
  return { proto: '', remote: '', allowUnderscoreHeaders: false, hostLine: undefined, upgrade: false, requestId: undefined, ...(extraLines !== undefined ? { extraLines } : {}) };
}

/** Fills `rw` for a request of `conn` (its listener's proto and rules, the client's address). */
export function fillRewrite(
  rw: RewriteSlot,
  conn: { readonly ctx: { readonly proto: string; readonly listenConfig: { readonly allowUnderscoreHeaders: boolean } }; readonly remote: string },
  hostLine: string | undefined,
  requestId: string | undefined,
  upgrade: boolean,
): RewriteSlot {
  rw.proto = conn.ctx.proto;
  rw.remote = conn.remote;
  rw.allowUnderscoreHeaders = conn.ctx.listenConfig.allowUnderscoreHeaders;
  rw.hostLine = hostLine;
  rw.upgrade = upgrade;
  rw.requestId = requestId;
  return rw;
}

/** Names listed in `Connection`, lower case (rare: only when a head lists one). */
export function listedNames(head: RequestHead | ResponseHead): Set<string> {
  const out = new Set<string>();
  const f = head.fields;
  for (let i = 0; i < head.fieldCount; i++) {
    if (f[i * 4 + 3] !== H.CONNECTION) continue;
    for (const t of head.buf.toString('latin1', f[i * 4 + 1] as number, f[i * 4 + 2] as number).split(',')) out.add(t.trim().toLowerCase());
  }
  return out;
}

function keepRequestField(kind: number, opts: RequestRewrite, seenId: boolean): boolean {
  switch (kind) {
    case H.OTHER:
    case H.CONTENT_LENGTH:
    case H.TRANSFER_ENCODING:
    case H.EXPECT:
    case H.COOKIE:
    case H.X_TURNOUT_POOL:
      return true;
    case H.HOST:
      return opts.hostLine === undefined;
    case H.UPGRADE:
      return opts.upgrade;
    case H.X_REQUEST_ID:
      return !seenId;
    case H.UNDERSCORE:
      return opts.allowUnderscoreHeaders;
    default:
      // CONNECTION, HOP, X_FORWARDED_FOR (appended below), X_FORWARDED_SET.
      return false;
  }
}

/**
 * The request head for the backend, with `body[bodyStart..bodyEnd)` (the body bytes that came
 * with the head) appended. Always HTTP/1.1 and origin-form toward the backend.
 */
export function buildRequestHead(head: RequestHead, opts: RequestRewrite, body: Buffer | undefined, bodyStart: number, bodyEnd: number): Buffer {
  const buf = head.buf;
  const f = head.fields;
  const n = head.fieldCount;
  const listed = head.connOther ? listedNames(head) : undefined;
  const line =
    head.absoluteForm || head.version !== 11 ? `${head.method} ${head.path} HTTP/1.1\r\n` : undefined;
  const keep = keepFlags(head);
  let xff: string | undefined;
  let seenId = false;
  let size = line === undefined ? head.lineEnd + 2 - head.start : line.length;
  // Pass 1: what stays, and the values the proxy's own lines need.
  for (let i = 0; i < n; i++) {
    const k = i * 4;
    const kind = f[k + 3] as number;
    if (kind === H.X_FORWARDED_FOR) {
      const v = buf.toString('latin1', f[k + 1] as number, f[k + 2] as number);
      xff = xff === undefined ? v : `${xff}, ${v}`;
      keep[i] = 0;
      continue;
    }
    let kept = keepRequestField(kind, opts, seenId);
    if (kept && kind === H.X_REQUEST_ID) seenId = true;
    if (kept && listed !== undefined && listed.has(head.nameLower(i))) kept = false;
    keep[i] = kept ? 1 : 0;
    if (kept) size += (i + 1 < n ? (f[k + 4] as number) : head.end - 2) - (f[k] as number);
  }
  let tail = `x-forwarded-for: ${xff === undefined ? opts.remote : `${xff}, ${opts.remote}`}\r\nx-forwarded-proto: ${opts.proto}\r\n`;
  if (head.host !== '') tail += `x-forwarded-host: ${head.host}\r\n`;
  if (opts.hostLine !== undefined) tail += opts.hostLine;
  if (opts.requestId !== undefined) tail += `x-request-id: ${opts.requestId}\r\n`;
  if (opts.upgrade) tail += 'connection: upgrade\r\n';
  if (opts.extraLines !== undefined) tail += opts.extraLines;
  tail += '\r\n';
  const bodyLen = body === undefined ? 0 : bodyEnd - bodyStart;
  const out = Buffer.allocUnsafe(size + tail.length + bodyLen);
  // Pass 2: copy.
  let o = line === undefined ? buf.copy(out, 0, head.start, head.lineEnd + 2) : out.write(line, 0, 'latin1');
  o = copyKept(head, out, o);
  o += out.write(tail, o, 'latin1');
  if (body !== undefined && bodyLen > 0) body.copy(out, o, bodyStart, bodyEnd);
  return out;
}

/** The head's keep flags, grown to its field count. */
function keepFlags(head: RequestHead | ResponseHead): Uint8Array {
  if (head.keep.length < head.fieldCount) head.keep = new Uint8Array(Math.max(head.fieldCount, head.keep.length * 2));
  return head.keep;
}

/**
 * Copies the field lines the rewrite kept (head.keep) to `out` at `o`, adjacent lines as one run;
 * returns the offset after them.
 */
function copyKept(head: RequestHead | ResponseHead, out: Buffer, o: number): number {
  const buf = head.buf;
  const f = head.fields;
  const keep = head.keep;
  const n = head.fieldCount;
  let runStart = -1;
  let runEnd = -1;
  for (let i = 0; i < n; i++) {
    if (keep[i] !== 1) continue;
    const ls = f[i * 4] as number;
    const le = i + 1 < n ? (f[i * 4 + 4] as number) : head.end - 2;
    if (ls === runEnd) {
      runEnd = le;
    } else {
      if (runStart >= 0) o += buf.copy(out, o, runStart, runEnd);
      runStart = ls;
      runEnd = le;
    }
  }
  if (runStart >= 0) o += buf.copy(out, o, runStart, runEnd);
  return o;
}

function keepResponseField(kind: number, dropTransferEncoding: boolean, upgrade: boolean): boolean {
  switch (kind) {
    case H.CONNECTION:
    case H.HOP:
      return false;
    case H.UPGRADE:
      return upgrade;
    case H.TRANSFER_ENCODING:
      return !dropTransferEncoding;
    default:
      return true;
  }
}

/**
 * The answer head for the client: hop-by-hop fields (and those the backend's Connection lists)
 * removed, `tail` appended (sticky Set-Cookie, Connection, each line with CRLF), then the blank
 * line and `body[bodyStart..bodyEnd)`. A 1.0 status line is sent as 1.1: the client talks to turnout.
 * `dropTransferEncoding`: the chunked body is decoded for an HTTP/1.0 client. `upgrade`: a 101.
 */
export function buildResponseHead(
  head: ResponseHead,
  tail: string,
  dropTransferEncoding: boolean,
  upgrade: boolean,
  body: Buffer | undefined,
  bodyStart: number,
  bodyEnd: number,
): Buffer {
  const buf = head.buf;
  const f = head.fields;
  const n = head.fieldCount;
  const listed = head.connOther ? listedNames(head) : undefined;
  const statusEnd = n > 0 ? (f[0] as number) : head.end - 2;
  const keep = keepFlags(head);
  let size = statusEnd - head.start;
  for (let i = 0; i < n; i++) {
    const k = i * 4;
    const kept = keepResponseField(f[k + 3] as number, dropTransferEncoding, upgrade) && (listed === undefined || !listed.has(head.nameLower(i)));
    keep[i] = kept ? 1 : 0;
    if (kept) size += (i + 1 < n ? (f[k + 4] as number) : head.end - 2) - (f[k] as number);
  }
  const bodyLen = body === undefined ? 0 : bodyEnd - bodyStart;
  const out = Buffer.allocUnsafe(size + tail.length + 2 + bodyLen);
  let o = buf.copy(out, 0, head.start, statusEnd);
  if (head.version === 10) out[7] = 0x31; // "HTTP/1.0" -> "HTTP/1.1"
  o = copyKept(head, out, o);
  if (tail.length > 0) o += out.write(tail, o, 'latin1');
  out[o++] = 0x0d;
  out[o++] = 0x0a;
  if (body !== undefined && bodyLen > 0) body.copy(out, o, bodyStart, bodyEnd);
  return out;
}
