import { STATUS_CODES } from 'node:http';
import { PROXY_ERROR_STATUS } from '../errors.js';
import type { ProxyErrorCode } from '../errors.js';

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

/** A refusal of a malformed request (400, 405, 408, 431, 501, 505): the connection closes after it. */
export function refusal(status: number): string {
  const allow = status === 405 ? 'allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE\r\n' : '';
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${allow}connection: close\r\ncontent-length: 0\r\n\r\n`;
}

/** 503 to an upgrade while the proxy shuts down. */
export const SHUTTING_DOWN = 'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';
