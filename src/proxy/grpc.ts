import type { ProxyErrorCode } from '../errors.js';

/**
 * gRPC over HTTP/2, the parts a proxy needs (SPEC "HTTP/2 and gRPC"): the status table, which
 * statuses are errors, turnout's own errors in gRPC form, and `grpc-timeout`. Pure: no sockets,
 * no timers; time is given by the caller.
 */

/** The gRPC status codes by number (grpc/doc/statuscodes.md). */
export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The name of a status code ("UNAVAILABLE"), or `undefined` for a code outside the table. */
export function grpcStatusName(code: number): string | undefined {
  return GRPC_STATUS_NAMES[code];
}

/**
 * UNKNOWN 2, DEADLINE_EXCEEDED 4, INTERNAL 13, UNAVAILABLE 14 and DATA_LOSS 15 count as errors
 * wherever errors are counted; the others are the application's answers (NOT_FOUND is not a
 * backend failure).
 */
export function isGrpcError(code: number): boolean {
  return code === 2 || code === 4 || code === 13 || code === 14 || code === 15;
}

/**
 * A `grpc-status` value as a number: 1 to 3 ASCII digits; `undefined` when absent or malformed.
 * A backend that sends garbage gets no number (the caller decides; the gRPC spec says UNKNOWN).
 */
export function parseGrpcStatus(value: string | undefined): number | undefined {
  if (value === undefined || value.length === 0 || value.length > 3) return undefined;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n;
}

/** The gRPC status turnout answers with, per error code (SPEC). */
export const GRPC_STATUS_FOR: Readonly<Record<ProxyErrorCode, number>> = {
  no_backend: 14,
  upstream_error: 14,
  upstream_timeout: 4,
  no_route: 12,
  unsupported_protocol: 12,
};

const GRPC_MESSAGES: Readonly<Record<ProxyErrorCode, string>> = {
  no_backend: 'turnout: no backend is available for this service',
  upstream_error: 'turnout: the backend failed to answer',
  upstream_timeout: 'turnout: the backend did not answer in time',
  no_route: 'turnout: no route matches this request',
  unsupported_protocol: 'turnout: gRPC needs upstreamProtocol h2 on this service',
};

/** The header block of a trailers-only answer, as node:http2's `respond()` takes it. */
export interface GrpcErrorHeaders {
  readonly ':status': 200;
  readonly 'content-type': 'application/grpc';
  readonly 'grpc-status': string;
  readonly 'grpc-message': string;
  readonly 'x-turnout-error': ProxyErrorCode;
  readonly 'x-request-id'?: string;
}

const PREBUILT = new Map<ProxyErrorCode, GrpcErrorHeaders>(
  (Object.keys(GRPC_STATUS_FOR) as ProxyErrorCode[]).map((code) => [
    code,
    Object.freeze({
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(GRPC_STATUS_FOR[code]),
      'grpc-message': encodeGrpcMessage(GRPC_MESSAGES[code]),
      'x-turnout-error': code,
    } as const),
  ]),
);

/**
 * turnout's own answer to a gRPC request, trailers-only (one HEADERS frame with END_STREAM:
 * `stream.respond(headers, { endStream: true })`). Without a request id the block is shared and
 * frozen (no allocation per answer); with one it is a copy that also carries `x-request-id`.
 */
export function grpcErrorHeaders(code: ProxyErrorCode, requestId?: string): GrpcErrorHeaders {
  const base = PREBUILT.get(code) as GrpcErrorHeaders;
  return requestId === undefined ? base : { ...base, 'x-request-id': requestId };
}

const HEX = '0123456789ABCDEF';

/**
 * `grpc-message` percent-encoding (gRPC over HTTP/2, "Responses"): the UTF-8 bytes of the
 * message, with every byte outside 0x20-0x7E and `%` itself written as `%XX`.
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${HEX[byte >> 4]}${HEX[byte & 15]}` : String.fromCharCode(byte);
  }
  return out;
}

/** The reverse of encodeGrpcMessage; a `%` not followed by two hex digits stays as it is (the spec says so). */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value.charCodeAt(i) === 0x25 ? value.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(value[i] as string, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `grpc-timeout` units and their length in milliseconds, finest first. */
const UNITS: readonly (readonly [string, number])[] = [
  ['n', 1e-6],
  ['u', 1e-3],
  ['m', 1],
  ['S', 1000],
  ['M', 60_000],
  ['H', 3_600_000],
];
const UNIT_MS: Readonly<Record<string, number>> = Object.fromEntries(UNITS);
const MAX_VALUE = 99_999_999;

/**
 * A `grpc-timeout` value ("100m", "5S", "1H": 1 to 8 ASCII digits, then one of H M S m u n) in
 * milliseconds, or `undefined` when malformed (the caller then ignores it, as servers do).
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value.length < 2 || value.length > 9) return undefined;
  const unit = UNIT_MS[value[value.length - 1] as string];
  if (unit === undefined) return undefined;
  let n = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n * unit;
}

/**
 * Milliseconds as a `grpc-timeout` value: the coarsest unit that says it exactly in 8 digits
 * ("2S", "1500m", "250u"), else the finest unit that fits, rounded up (a positive time never
 * becomes 0). Values beyond 99999999 hours are capped there.
 */
export function formatGrpcTimeout(ms: number): string {
  const ns = Math.max(0, Math.round(ms * 1e6));
  for (let i = UNITS.length - 1; i >= 0; i--) {
    const [unit, unitMs] = UNITS[i] as readonly [string, number];
    const value = ns / Math.round(unitMs * 1e6);
    if (value > MAX_VALUE) break; // finer units only grow
    if (Number.isInteger(value)) return `${value}${unit}`;
  }
  for (const [unit, unitMs] of UNITS) {
    const value = Math.ceil(ns / Math.round(unitMs * 1e6));
    if (value <= MAX_VALUE) return `${value}${unit}`;
  }
  return `${MAX_VALUE}H`;
}

/**
 * The `grpc-timeout` to forward: the client's timeout less the time already spent in turnout
 * (hold, retries, connecting). `undefined` when it has run out: the caller answers
 * `upstream_timeout` (DEADLINE_EXCEEDED) instead of sending the call.
 */
export function remainingGrpcTimeout(timeoutMs: number, receivedAt: number, now: number): string | undefined {
  const left = timeoutMs - (now - receivedAt);
  return left > 0 ? formatGrpcTimeout(left) : undefined;
}

/**
 * Whether a request's `content-type` is gRPC: `application/grpc`, optionally followed by `+proto`,
 * `+json`, another codec or parameters. gRPC-Web (`application/grpc-web*`) is not: its trailers
 * travel in the body and it works over HTTP/1.1 as any request does.
 */
export function isGrpc(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.length < 16) return false;
  if (contentType.slice(0, 16).toLowerCase() !== 'application/grpc') return false;
  if (contentType.length === 16) return true;
  const next = contentType.charCodeAt(16);
  return next === 0x2b /* + */ || next === 0x3b /* ; */;
}
