import { Framing } from './framing.js';
import { H } from './head.js';
import type { RequestHead } from './head.js';

/**
 * What a parsed request head says about its connection and body: pure reads of the head, decided
 * once per request.
 */

/** The request body's framing: chunked, a length, or none (a request with neither has no body). */
export function requestFraming(head: RequestHead): number {
  return head.chunked ? Framing.CHUNKED : head.contentLength > 0 ? Framing.LENGTH : Framing.NONE;
}

/** The client wants the connection open after this request (HTTP/1.1 unless `close`, HTTP/1.0 only with `keep-alive`). */
export function keepAliveWanted(head: RequestHead, closing: boolean): boolean {
  return !closing && (head.version === 11 ? !head.connClose : head.connKeepAlive);
}

/** An upgrade turnout forwards: an Upgrade field named in Connection, and never h2c. */
export function upgradeWanted(head: RequestHead): boolean {
  if (!head.upgrade || !head.connUpgrade) return false;
  const v = head.values(H.UPGRADE, ',');
  return !(v !== undefined && v.toLowerCase().includes('h2c'));
}

/** The upgrade is to WebSocket (a drain sends it a close frame). */
export function isWebSocket(head: RequestHead): boolean {
  return (head.value(H.UPGRADE) ?? '').toLowerCase() === 'websocket';
}
