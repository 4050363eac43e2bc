import { STATUS_CODES } from './status-codes.js';
import { PROXY_ERROR_STATUS } from '../errors.js';
import type { ProxyErrorCode } from '../errors.js';
import { grpcErrorHeaders } from './grpc.js';

/** The answers turnout gives itself, as bytes ready to write. */

const MESSAGES: Readonly<Record<ProxyErrorCode, string>> = {
  no_backend: 'no backend is available for this service',
  upstream_error: 'the backend failed to answer',
  upstream_timeout: 'the backend did not answer in time',
  no_route: 'no route matches this request',
  unsupported_protocol: 'this service cannot carry this protocol to its backends',
};

const BODIES = Object.fromEntries(
  Object.entries(MESSAGES).map(([code, message]) => [code, JSON.stringify({ error: { code, message } })]),
) as Record<ProxyErrorCode, string>;

/**
 * A proxy error answer (SPEC: JSON body and `X-Turnout-Error`). `requestId` is echoed so a
 * client can match the failure to logs; it was checked by the parser (field-value bytes only) and
 * is written as latin1, byte for byte.
 */
export function errorAnswer(code: ProxyErrorCode, requestId: string | undefined, close: boolean): string {
  const status = PROXY_ERROR_STATUS[code];
  const body = BODIES[code];
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
    `x-turnout-error: ${code}\r\ncache-control: no-store\r\n${requestId === undefined ? '' : `x-request-id: ${requestId}\r\n`}` +
    `${close ? 'connection: close\r\n' : ''}\r\n${body}`
  );
}

/**
 * A proxy error answer to a gRPC request (SPEC "HTTP/2 and gRPC"): HTTP 200, trailers-only
 * (no body: the HTTP/2 side sends the head as one HEADERS frame with END_STREAM), grpc-status
 * 14, 4 or 12, grpc-message and X-Turnout-Error.
 */
export function grpcErrorAnswer(code: ProxyErrorCode, requestId: string | undefined): string {
  const h = grpcErrorHeaders(code);
  return (
    `HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: ${h['grpc-status']}\r\ngrpc-message: ${h['grpc-message']}\r\n` +
    `x-turnout-error: ${code}\r\n${requestId === undefined ? '' : `x-request-id: ${requestId}\r\n`}content-length: 0\r\n\r\n`
  );
}

/** turnout's own error answer in the request's form: gRPC-shaped for a gRPC call, else JSON. */
export function proxyAnswer(code: ProxyErrorCode, requestId: string | undefined, close: boolean, grpc: boolean): string {
  return grpc ? grpcErrorAnswer(code, requestId) : errorAnswer(code, requestId, close);
}

/** A refusal of a malformed request (400, 405, 408, 431, 501, 505): the connection closes after it. */
export function refusal(status: number): string {
  const allow = status === 405 ? 'allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE\r\n' : '';
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${allow}connection: close\r\ncontent-length: 0\r\n\r\n`;
}

/** 503 to an upgrade while the proxy shuts down. */
export const SHUTTING_DOWN = 'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';
