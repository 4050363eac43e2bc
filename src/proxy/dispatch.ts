import type { ProxyErrorCode } from '../errors.js';
import type { PoolTable, ServiceTable } from './table.js';
import { proxyAnswer, SHUTTING_DOWN } from './answers.js';
import { pickBackend } from './choose.js';
import type { PickResult } from './choose.js';
import { Deadline } from './client-side.js';
import type { EngineContext, HoldWaiter } from './context.js';
import type { Exchange } from './exchange.js';
import { H } from './head.js';
import type { RequestHead } from './head.js';
import type { HoldTicket } from './hold-ticket.js';
import { keepAliveWanted, upgradeWanted } from './request-facts.js';
import type { Upstream, UpgradedConnection } from './upstream.js';

const EMPTY = Buffer.alloc(0);

/**
 * What a dispatch needs from its client connection. The ClientConnection implements it; this file
 * does not import the connection.
 */
export interface DispatchHost extends UpgradedConnection {
  readonly ctx: EngineContext;
  readonly head: RequestHead;
  readonly hold: HoldTicket;
  readonly exchange: Exchange | undefined;
  /** A gRPC call: turnout's own answers are gRPC-shaped, and it needs an h2 service. */
  readonly grpc: boolean;
  /** The request waits in a hold queue. */
  readonly waiting: boolean;
  keepAlive: boolean;
  readonly reqBodyDone: boolean;
  readonly closed: boolean;
  write(data: Buffer | string): boolean;
  setDeadline(kind: number, ms: number): void;
  updateReading(): void;
  /** The request is over: the next one, or the connection closes. */
  requestOver(): void;
}

/**
 * Where a parsed request goes: it is counted, routed, given a backend with room, or made to wait
 * in its service's hold queue (SPEC "Hold and limits"), or answered by the proxy itself (no route,
 * no backend). One per client connection, reused for each of its requests; it is the connection's
 * HoldWaiter.
 */
export class RequestDispatch implements HoldWaiter {
  private readonly conn: DispatchHost;
  /** This request is an upgrade counted in the server's upgrades (not its requests). */
  private upgradeCounted = false;
  /** When the request began (performance.now() ms). */
  private started = 0;
  /** The request being answered: its buffer, head end and the end of the body bytes that came with it. */
  private reqBuf: Buffer = EMPTY;
  private reqHeadEnd = 0;
  private reqBodyEnd = 0;
  private upgradeReq = false;
  private readonly picked: PickResult = { pool: undefined, full: false };
  /** The backend an upgrade request went to, so a drain can close it before its 101. */
  private upgradeUp: Upstream | undefined;
  /** The mirror had its say on this request (a request that waits and starts again is copied once). */
  private mirrored = false;

  constructor(conn: DispatchHost) {
    this.conn = conn;
  }

  /** A request's head is parsed; `buf[headEnd..bodyEnd)` are the body bytes that came with it. */
  start(buf: Buffer, headEnd: number, bodyEnd: number): void {
    const conn = this.conn;
    const head = conn.head;
    const ctx = conn.ctx;
    this.started = performance.now();
    conn.setDeadline(Deadline.NONE, 0);
    conn.keepAlive = keepAliveWanted(head, ctx.closing);
    const upgrade = upgradeWanted(head);
    if (upgrade) {
      conn.keepAlive = false;
      this.upgradeCounted = true;
      ctx.upgradeStarted(conn);
      if (ctx.closing) {
        conn.write(SHUTTING_DOWN);
        return conn.requestOver();
      }
    } else {
      ctx.requestStarted();
    }
    this.reqBuf = buf;
    this.reqHeadEnd = headEnd;
    this.reqBodyEnd = bodyEnd;
    this.upgradeReq = upgrade;
    this.mirrored = false;
    conn.hold.reset();
    const svc = ctx.tables.current.match(head.hostname, head.path);
    if (svc === undefined) return this.answer('no_route', undefined, undefined);
    // gRPC needs HTTP/2 to the backend (its trailers): 12 UNIMPLEMENTED from an http1 service.
    if (conn.grpc && svc.settings.upstreamProtocol !== 'h2') return this.answer('unsupported_protocol', svc, undefined);
    if (this.tryStart(svc)) return;
    if (!this.enterHold(svc, 'no_backend', this.picked.full)) this.answer('no_backend', svc, this.picked.pool);
  }

  /** Picks a pool and a backend with room and starts the exchange; false when there is none. */
  private tryStart(svc: ServiceTable): boolean {
    const conn = this.conn;
    const up = pickBackend(svc, conn.head, Math.random(), this.picked);
    const pool = this.picked.pool;
    if (up === undefined || pool === undefined) return false;
    if (conn.waiting) this.leaveHold('served');
    if (this.upgradeReq) {
      this.upgradeUp = up;
      up.upgrades.add(conn);
    }
    const ex = conn.exchange as Exchange;
    ex.start(svc, pool, up, this.started, this.reqBuf, this.reqHeadEnd, this.reqBodyEnd, this.upgradeReq);
    // After the real request went: a copy is the mirror's business and never holds it up.
    const m = svc.mirror;
    if (m !== undefined && !this.mirrored && !this.upgradeReq) {
      this.mirrored = true;
      ex.mirror = m.take(ex.conn, ex.out.requestId, Math.random(), this.reqBuf, this.reqHeadEnd, this.reqBodyEnd);
    }
    return true;
  }

  /**
   * The request waits for a backend (SPEC "Hold and limits") when the service holds (hold.timeout)
   * or when every backend is at maxRequestsPerBackend (then up to hold.timeout, or the response
   * timeout when hold is off). False when it cannot wait: hold off, the queue full, its time spent,
   * an upgrade, or the proxy shutting down. `code` is what it gets if its time runs out.
   */
  enterHold(svc: ServiceTable, code: ProxyErrorCode, full: boolean): boolean {
    const conn = this.conn;
    const ctx = conn.ctx;
    if (this.upgradeReq || ctx.closing || conn.closed) return false;
    const hold = conn.hold;
    if (!hold.enter(ctx, this, svc, code, full)) return false;
    conn.setDeadline(Deadline.HOLD, hold.deadline - ctx.clock);
    conn.updateReading();
    return true;
  }

  /** HoldWaiter: the table changed, the retry tick came, or a backend has room. */
  retryHold(): boolean {
    const conn = this.conn;
    if (!conn.waiting) return true;
    const svc = conn.ctx.tables.current.services.get(conn.hold.service);
    if (svc === undefined) {
      // The service went away (a reload removed it) while the request waited.
      this.leaveHold('left');
      this.answer('no_route', undefined, undefined);
      return true;
    }
    return this.tryStart(svc);
  }

  /** HoldWaiter: the proxy shuts down; a waiting request gets its answer now. */
  giveUp(): void {
    this.holdOver('left');
  }

  /** The wait ends without a backend: the request gets its hold code (no_backend, or the last error its tries met). */
  holdOver(outcome: 'timed_out' | 'left'): void {
    const conn = this.conn;
    if (!conn.waiting) return;
    this.leaveHold(outcome);
    const hold = conn.hold;
    this.answer(hold.code, conn.ctx.tables.current.services.get(hold.service), undefined);
  }

  leaveHold(outcome: 'served' | 'timed_out' | 'left'): void {
    this.conn.hold.leave(this.conn.ctx, this, outcome);
  }

  /** The proxy answers itself before any backend was tried (no route, no backend). */
  private answer(code: ProxyErrorCode, svc: ServiceTable | undefined, pool: PoolTable | undefined): void {
    const conn = this.conn;
    if (!conn.reqBodyDone) conn.keepAlive = false;
    conn.write(proxyAnswer(code, conn.head.value(H.X_REQUEST_ID), !conn.keepAlive, conn.grpc));
    conn.ctx.observer.onProxyError(svc, pool, code, performance.now() - this.started);
    conn.requestOver();
  }

  /** The request is over: its buffer is let go and it stops being counted. */
  over(): void {
    const conn = this.conn;
    const ex = conn.exchange;
    if (ex !== undefined && ex.mirror !== null) {
      // The request ended before its body was whole: its copy is not sent.
      ex.mirror.abandon();
      ex.mirror = null;
    }
    this.reqBuf = EMPTY;
    conn.hold.reset();
    conn.head.release();
    if (this.upgradeCounted) this.upgradeOver();
    else conn.ctx.requestDone();
  }

  /** The upgrade request ended, or became a tunnel (which counts itself): it stops being counted. */
  upgradeOver(): void {
    this.upgradeCounted = false;
    this.upgradeUp?.upgrades.delete(this.conn);
    this.upgradeUp = undefined;
    this.conn.ctx.upgradeDone(this.conn);
  }
}
