import { STATUS_CODES } from '../status-codes.js';
import type { OutgoingHttpHeaders } from 'node:http2';
import { formatGrpcTimeout, isGrpc } from '../grpc.js';
import type { RequestHead } from '../head.js';

/**
 * The two head translations of an `h2` upstream (SPEC "HTTP/2 and gRPC": upstreamProtocol h2).
 * The engine writes the request it rewrote as HTTP/1.1 (routing, X-Forwarded-*, X-Request-Id and
 * hop-by-hop are done by then); it becomes an HTTP/2 header list here. The backend's HTTP/2 answer
 * becomes the HTTP/1.1 head the engine's answer relay reads. Pure.
 */

/** Fields that do not exist in HTTP/2 (RFC 9113 §8.2.2), and `host` (it becomes `:authority`). */
const DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'host', 'http2-settings']);

export interface UpstreamRequest {
  readonly headers: OutgoingHttpHeaders;
  /** `content-type: application/grpc*`. */
  readonly grpc: boolean;
}

/**
 * The header list for the backend. `scheme` is the backend URL's; `callDeadline` (performance.now()
 * ms, 0 = none) replaces the client's `grpc-timeout` with the time left (SPEC: forwarded less the
 * time already spent).
 */
export function upstreamRequestHeaders(head: RequestHead, scheme: string, callDeadline: number, now: number): UpstreamRequest {
  const headers: OutgoingHttpHeaders = { ':method': head.method, ':scheme': scheme, ':path': head.path };
  if (head.host !== '') headers[':authority'] = head.host;
  const f = head.fields;
  let grpc = false;
  for (let i = 0; i < head.fieldCount; i++) {
    const name = head.nameLower(i);
    if (DROP.has(name)) continue;
    let value = head.buf.toString('latin1', f[i * 4 + 1] as number, f[i * 4 + 2] as number);
    if (name === 'content-type' && isGrpc(value)) grpc = true;
    if (name === 'grpc-timeout' && callDeadline > 0) value = formatGrpcTimeout(Math.max(1, callDeadline - now));
    const had = headers[name];
    if (had === undefined) headers[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else headers[name] = [String(had), value];
  }
  // gRPC servers ask for it (gRPC over HTTP/2: "TE: trailers").
  if (grpc) headers.te = 'trailers';
  return { headers, grpc };
}

/** A flat [name, value, ...] field list (trailers) as node:http2 sends it; repeated names become lists. */
export function fieldsObject(flat: readonly string[] | undefined): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (flat === undefined) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    const had = out[name];
    out[name] = had === undefined ? (flat[i + 1] as string) : [...(Array.isArray(had) ? had : [String(had)]), flat[i + 1] as string];
  }
  return out;
}

/** An error with a socket-like `code` (the engine classifies failures by it). */
export function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** How the translated answer's body is framed for the engine. */
export const AnswerBody = { NONE: 0, LENGTH: 1, CHUNKED: 2 } as const;
export type AnswerBodyKind = (typeof AnswerBody)[keyof typeof AnswerBody];

export interface TranslatedAnswer {
  readonly head: Buffer;
  readonly body: AnswerBodyKind;
  /** The `grpc-status` in the head (a trailers-only answer), or undefined. */
  readonly grpcStatus: string | undefined;
}

/**
 * The backend's HTTP/2 answer head (`raw`: node's flat list, pseudo-headers first) as an HTTP/1.1
 * head. `endStream`: no body follows (END_STREAM on the HEADERS). A body with a length keeps it;
 * any other (gRPC's always: its trailers must travel) is chunked. `connection: close` says the
 * stream carries one answer (the engine never reuses it).
 */
export function upstreamAnswerHead(raw: readonly string[], endStream: boolean, headRequest: boolean): TranslatedAnswer {
  let status = 200;
  let lines = '';
  let length: string | undefined;
  let grpc = false;
  let grpcStatus: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':status') status = Number(value);
      continue;
    }
    if (DROP.has(name)) continue;
    if (name === 'content-length') {
      length = value;
      continue;
    }
    if (name === 'content-type' && isGrpc(value)) grpc = true;
    if (name === 'grpc-status') grpcStatus = value;
    lines += `${name}: ${value}\r\n`;
  }
  let body: AnswerBodyKind = AnswerBody.CHUNKED;
  if (status < 200) body = AnswerBody.NONE;
  else if (endStream || headRequest || status === 204 || status === 304) body = AnswerBody.NONE;
  else if (length !== undefined && !grpc) body = AnswerBody.LENGTH;
  let framing = '';
  if (body === AnswerBody.CHUNKED) framing = 'transfer-encoding: chunked\r\n';
  else if (length !== undefined && (body === AnswerBody.LENGTH || headRequest)) framing = `content-length: ${length}\r\n`;
  else if (body === AnswerBody.NONE && status >= 200 && status !== 204 && status !== 304) framing = 'content-length: 0\r\n';
  const text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Status'}\r\n${lines}${framing}${status >= 200 ? 'connection: close\r\n' : ''}\r\n`;
  return { head: Buffer.from(text, 'latin1'), body, grpcStatus };
}
