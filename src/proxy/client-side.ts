import type { Socket } from 'node:net';
import type { ProxyErrorCode } from '../errors.js';
import type { EngineContext } from './context.js';
import type { BodyTracker } from './framing.js';
import type { RequestHead } from './head.js';
import type { ServiceTable } from './table.js';
import type { Upstream, UpstreamConn } from './upstream.js';

/** Deadline kinds a client connection's sweep acts on. */
export const Deadline = { NONE: 0, HEAD: 1, IDLE: 2, CONNECT: 3, RESPONSE: 4, CLOSING: 5, HOLD: 6 } as const;

/**
 * What an exchange needs from the client connection it serves. The connection implements it; the
 * exchange depends on this interface only, so the two files do not import each other.
 */
export interface ClientSide {
  readonly ctx: EngineContext;
  readonly socket: Socket;
  /** The client's address (X-Forwarded-For). */
  readonly remote: string;
  /** A gRPC call: turnout's own answers are gRPC-shaped. */
  readonly grpc: boolean;
  /** The client asked over HTTP/2 (counted as such in the live views). */
  readonly h2: boolean;
  /** ctx.clock ms the call's grpc-timeout ends; 0 = none. */
  readonly callDeadline: number;
  readonly head: RequestHead;
  readonly reqBody: BodyTracker;
  /** The connection stays open after this answer. */
  keepAlive: boolean;
  readonly reqBodyDone: boolean;
  /** Body bytes beyond those that came with the head went to a backend: no replay possible. */
  bodyStreamed: boolean;
  readonly closed: boolean;
  write(data: Buffer | string): boolean;
  setDeadline(kind: number, ms: number): void;
  /** The backend can take body bytes now: send what waited, read more. */
  flushHeldBody(): void;
  upstreamDrained(): void;
  /** The request is over (answered, failed or cut). */
  exchangeDone(): void;
  /** Waits for a backend again after tries that reached none (hold); false when it cannot. */
  enterHold(svc: ServiceTable, code: ProxyErrorCode, full: boolean): boolean;
  /** Answers a refusal and closes (nothing reached a backend). */
  refuse(status: number): void;
  /** The backend answered 101: join the sockets. */
  startTunnel(c: UpstreamConn, up: Upstream, head101: Buffer): void;
}

/**
 * Shutdown with a grace (pure): how long an idle keep-alive connection whose idle deadline is
 * `deadline` stays open, so it closes `graceMs` after its last answer; 0 = close now.
 */
export function idleGraceLeft(deadline: number, keepAliveMs: number, clock: number, graceMs: number): number {
  if (graceMs <= 0 || deadline === 0) return 0;
  const left = deadline - keepAliveMs + graceMs - clock;
  return left > 0 ? left : 0;
}

/** A deadline `ms` after `clock` for `kind` (pure): 0 = none; a gRPC call's own deadline bounds a hold (callBound). */
export function deadlineAt(kind: number, ms: number, clock: number, callDeadline: number): number {
  const deadline = kind === Deadline.NONE || ms <= 0 ? 0 : clock + ms;
  return callDeadline === 0 ? deadline : callBound(deadline, kind, callDeadline);
}

/**
 * A gRPC call's deadline (its grpc-timeout) bounds the time it waits for a backend (pure): a hold
 * deadline is brought forward to `callDeadline`. Once sent, its h2 stream keeps the deadline
 * itself (it ends the call with DEADLINE_EXCEEDED in trailers, H2UpstreamSocket).
 */
export function callBound(deadline: number, kind: number, callDeadline: number): number {
  if (kind !== Deadline.HOLD) return deadline;
  return deadline === 0 || deadline > callDeadline ? callDeadline : deadline;
}
