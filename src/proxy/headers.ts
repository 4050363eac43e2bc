import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the ones undici frames itself. Lower case. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

const SET_BY_PROXY = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/** Extra names listed in `Connection: a, b`, lower case; undefined when none (the usual case). */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  // The usual values name no extra header: skip the split (hot path).
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return undefined;
  }
  let out: Set<string> | undefined;
  for (const t of value.split(',')) {
    const name = t.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && !HOP_BY_HOP.has(name)) (out ??= new Set()).add(name);
  }
  return out;
}

/**
 * Request headers for the backend as a flat [name, value, …] list: hop-by-hop headers (and those
 * named in Connection) removed, X-Forwarded-For appended, X-Forwarded-Proto/Host set, X-Request-Id
 * kept or generated. `upstreamHost`: the Host to send when the service does not pass the client's
 * through. One array per request, nothing else allocated but the strings it holds.
 */
export function upstreamRequestHeaders(req: IncomingMessage, proto: 'http' | 'https', upstreamHost: string | undefined): string[] {
  const raw = req.rawHeaders;
  const extra = connectionTokens(req.headers.connection);
  const out: string[] = [];
  let xff: string | undefined;
  let requestId: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (extra !== undefined && extra.has(lower))) continue;
    if (SET_BY_PROXY.has(lower)) {
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (lower === 'host') {
      host = value;
      if (upstreamHost !== undefined) continue;
    } else if (lower === 'x-request-id') {
      if (requestId !== undefined) continue;
      requestId = value;
    }
    out.push(name, value);
  }
  const remote = req.socket.remoteAddress ?? '';
  out.push('x-forwarded-for', xff === undefined ? remote : `${xff}, ${remote}`);
  out.push('x-forwarded-proto', proto);
  if (host !== undefined) out.push('x-forwarded-host', host);
  if (upstreamHost !== undefined) out.push('host', upstreamHost);
  if (requestId === undefined) {
    requestId = randomUUID();
    out.push('x-request-id', requestId);
  }
  return out;
}

/** The value of a header in a flat [name, value, …] list (names compared case-insensitively). */
export function headerValue(headers: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if ((headers[i] as string).toLowerCase() === lowerName) return headers[i + 1];
  return undefined;
}

/** Sets a header in a flat list in place (the first entry of that name), or appends it. */
export function setHeaderValue(headers: string[], lowerName: string, value: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === lowerName) {
      headers[i + 1] = value;
      return;
    }
  }
  headers.push(lowerName, value);
}

/**
 * Response headers from undici's raw Buffer list to a flat string list for `writeHead`, hop-by-hop
 * headers removed. `extra` pairs are appended (sticky cookie, Connection: close on shutdown).
 */
export function downstreamResponseHeaders(raw: Buffer[] | string[], extra: readonly string[] | undefined): string[] {
  const out: string[] = [];
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer | string).toString('latin1');
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      tokens = connectionTokens((raw[i + 1] as Buffer | string).toString('latin1'));
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    out.push(name, (raw[i + 1] as Buffer | string).toString('latin1'));
  }
  if (tokens !== undefined) {
    for (let i = out.length - 2; i >= 0; i -= 2) if (tokens.has((out[i] as string).toLowerCase())) out.splice(i, 2);
  }
  if (extra !== undefined) for (const v of extra) out.push(v);
  return out;
}

/** Host header without port, lower case. */
export function hostOf(req: IncomingMessage): string {
  const h = req.headers.host;
  if (h === undefined) return '';
  let end = h.length;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const close = h.indexOf(']');
    return (close > 0 ? h.slice(0, close + 1) : h).toLowerCase();
  }
  const colon = h.indexOf(':');
  if (colon >= 0) end = colon;
  return h.slice(0, end).toLowerCase();
}

/** Methods that can be safely sent again after a reset with no response byte. */
export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
