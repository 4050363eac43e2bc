import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config, ServiceConfig } from '../config/index.js';
import type { TableSource, ProxyObserver } from './observer.js';
import type { ParseLimits } from './head.js';
import type { BufferReclaimer } from './reclaim.js';
import type { UpgradedConnection } from './upstream.js';

/**
 * What a connection needs from the server it belongs to: read once per request, never awaited.
 * The ProxyServer implements it.
 */
export interface EngineContext {
  readonly tables: TableSource;
  readonly observer: ProxyObserver;
  /** `http` or `https`: X-Forwarded-Proto. */
  readonly proto: string;
  readonly limits: ParseLimits;
  readonly listenConfig: Config['listen'];
  /** Access log: undefined when off. */
  readonly accessLogger: Logger | undefined;
  readonly accessSample: number;
  /** True once shutdown began: answers carry `Connection: close`. */
  readonly closing: boolean;
  /** Coarse monotonic clock (ms, performance.now() at the last tick): deadlines compare with it. */
  readonly clock: number;
  /** Counts streamed body bytes (see BufferReclaimer). */
  readonly reclaimer: BufferReclaimer;
  requestStarted(): void;
  requestDone(): void;
  upgradeStarted(conn: UpgradedConnection): void;
  upgradeDone(conn: UpgradedConnection): void;
  connectionClosed(conn: object): void;
  /**
   * A plain connection that opened with the HTTP/2 preface (its bytes read so far unshifted back):
   * the HTTP/2 side serves it (only called with `listen.http2` on).
   */
  takeH2(socket: Socket): void;
  /**
   * Puts `waiter` in `service`'s hold queue (at the front when it waited before: arrival order
   * holds). False when the queue is full (hold.maxWaiting).
   */
  holdEnter(waiter: HoldWaiter, service: string, settings: ServiceConfig, front: boolean): boolean;
  /** `waiter` leaves the queue: it went to a backend, timed out, or its client left. */
  holdLeave(waiter: HoldWaiter, service: string, waitedMs: number, outcome: 'served' | 'timed_out' | 'left'): void;
  /** A request on a backend of `service` ended: room for a waiting one (maxRequestsPerBackend). */
  roomFreed(service: string): void;
}

/** A request waiting in a hold queue: the server asks it to try again (table change, retry tick, room). */
export interface HoldWaiter {
  /** Tries to reach a backend now; true when the request left the queue (sent, or answered). */
  retryHold(): boolean;
  /** The proxy shuts down: answer now instead of waiting. */
  giveUp(): void;
}
