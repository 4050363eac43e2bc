import { PROXY_ERROR_STATUS, proxyCodeFor } from '../errors.js';
import type { ProxyErrorCode, UpstreamFailure } from '../errors.js';
import type { PoolTable, ServiceTable } from './table.js';
import { AnswerRelay } from './answer-relay.js';
import type { AnswerOwner } from './answer-relay.js';
import { logAccess } from './access-log.js';
import { proxyAnswer } from './answers.js';
import { stickyLine } from './choose.js';
import { Deadline } from './client-side.js';
import type { ClientSide } from './client-side.js';
import { Framing } from './framing.js';
import { H } from './head.js';
import type { MirrorCopy } from './mirror-copy.js';
import { OutgoingRequest } from './outgoing.js';
import { attemptFailure, IDEMPOTENT, replayable, retryTarget } from './retry.js';
import { buildResponseHead } from './rewrite.js';
import type { Upstream, UpstreamConn, UpstreamOwner } from './upstream.js';
import type { H2UpstreamSocket } from './h2/index.js';

/**
 * The request in progress on one client connection: picks up an upstream connection, sends the rewritten head (OutgoingRequest),
 * relays the answer (AnswerRelay), retries once when SPEC allows, and counts the backend's in-flight exactly once. One per client
 * connection, reused for each of its requests (no allocation per request); its listeners are methods, not closures.
 */
export class Exchange implements UpstreamOwner, AnswerOwner {
  /** The connection this exchange serves now (exchanges are pooled by the server). */
  conn!: ClientSide;
  readonly out = new OutgoingRequest();
  private readonly answer = new AnswerRelay(this);
  svc!: ServiceTable;
  pool!: PoolTable;
  up!: Upstream;
  uconn: UpstreamConn | null = null;
  active = false;
  /** The request asked for an Upgrade (WebSocket): a 101 turns the connection into a tunnel. */
  upgrade = false;
  /** Expect: 100-continue: no body byte goes out before the backend's 100 or final answer. */
  holdBody = false;
  status = 0;
  private grpcStatus = -1; // an h2 backend's gRPC answer's grpc-status; -1: none
  /** The Set-Cookie line of a sticky service, or ''. */
  sticky = '';
  mirror: MirrorCopy | null = null; // a mirrored copy waiting for the rest of the body (mirror.ts), or null
  private started = 0;
  private attempt = 0;
  private counted = false;
  private timedOut = false;
  private bodyless = true;

  /** Starts forwarding the request whose head the connection just parsed. `body[bodyStart..bodyEnd)` are the body bytes that arrived with the head. */
  start(svc: ServiceTable, pool: PoolTable, up: Upstream, started: number, body: Buffer, bodyStart: number, bodyEnd: number, upgrade: boolean): void {
    const head = this.conn.head;
    this.svc = svc;
    this.pool = pool;
    this.up = up;
    this.active = true;
    this.upgrade = upgrade;
    this.started = started;
    this.attempt = 0;
    this.status = 0;
    this.grpcStatus = -1;
    this.answer.started = false;
    this.holdBody = head.expectContinue && !this.conn.reqBodyDone;
    this.bodyless = this.conn.reqBody.mode === Framing.NONE;
    this.sticky = stickyLine(svc, head, pool);
    this.out.prepare(this.conn, svc, up, body, bodyStart, bodyEnd, this.holdBody, upgrade);
    this.send();
  }

  private send(): void {
    this.up.begin();
    this.counted = true;
    this.answer.reset();
    this.timedOut = false;
    // With hold on, a request that could not be sent twice (a body, or not idempotent) takes a new
    // connection: a kept-alive one may be the socket a stopping app is closing as idle, and a
    // reset there, after the app may have read the request, could be neither retried nor held.
    const c = this.up.acquire(this, this.conn.socket, this.svc.settings.hold.timeoutMs > 0 && !(this.bodyless && IDEMPOTENT.has(this.conn.head.method)));
    this.uconn = c;
    // A gRPC call's stream forwards its grpc-timeout less the time spent here (h2 services only).
    if (this.conn.callDeadline !== 0) (c.socket as unknown as H2UpstreamSocket).callDeadline = this.conn.callDeadline;
    this.out.write(c.socket);
    if (c.connected) {
      this.armResponse();
      // On a retry nothing else would wake the client's body: it waited for this connection.
      if (this.attempt > 0) this.conn.flushHeldBody();
    } else {
      this.conn.setDeadline(Deadline.CONNECT, this.up.connectTimeoutMs);
    }
  }

  /** The response timeout runs once the backend has the whole request (or is asked for 100). */
  private armResponse(): void {
    if (this.conn.reqBodyDone || this.holdBody) this.conn.setDeadline(Deadline.RESPONSE, this.svc.settings.responseTimeoutMs);
    else this.conn.setDeadline(Deadline.NONE, 0);
  }

  /** True when client body bytes may be read and sent now. */
  get canSendBody(): boolean {
    return this.uconn !== null && this.uconn.connected && !this.holdBody;
  }

  /** Body bytes from the client; false when the backend's socket is full (pause the client). */
  sendBody(buf: Buffer, start: number, end: number): boolean {
    const c = this.uconn;
    if (c === null) return true; // the answer came early and the request is over: drop
    this.mirror?.bodyBytes(buf, start, end);
    return c.socket.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  }

  /** The client's body ended: the backend's time to answer starts. */
  bodyDone(): void {
    if (this.mirror !== null) this.mirror = this.mirror.bodyDone();
    if (this.uconn !== null && this.uconn.connected && !this.answer.headDone) this.armResponse();
  }

  onUpstreamConnect(c: UpstreamConn): void {
    if (c !== this.uconn) return;
    this.armResponse();
    this.conn.flushHeldBody();
  }

  onUpstreamDrain(c: UpstreamConn): void {
    if (c === this.uconn) this.conn.upstreamDrained();
  }
  /** The client's socket drained: the backend may send again. */
  onClientDrain(): void {
    this.answer.onClientDrain();
  }
  onUpstreamData(c: UpstreamConn, chunk: Buffer): void {
    if (c === this.uconn) this.answer.onData(chunk);
  }

  /** AnswerOwner: the backend sent 100, the body it asked for goes out. */
  releaseHold(): void {
    this.holdBody = false;
    this.conn.bodyStreamed = true;
    const held = this.out.takeHeld();
    if (held !== undefined && this.uconn !== null) this.uconn.socket.write(held);
    this.conn.flushHeldBody();
  }

  /** AnswerOwner: the whole answer reached the client. */
  responseDone(): void {
    const c = this.uconn;
    this.uconn = null;
    if (c !== null) {
      if (this.svc.settings.upstreamProtocol === 'h2') this.grpcStatus = (c.socket as unknown as H2UpstreamSocket).grpcStatus;
      if (this.answer.paused) c.socket.resume();
      this.up.release(c, this.answer.framing.reusable && this.conn.reqBodyDone && !this.holdBody);
    }
    this.finish(true, false);
  }

  /** AnswerOwner: the backend accepted the upgrade. */
  startTunnel(data: Buffer, end: number): void {
    const c = this.uconn;
    if (c === null) return;
    this.uconn = null;
    // The tunnel owns the backend's in-flight count from here until it closes.
    this.counted = false;
    this.active = false;
    this.status = 101;
    const head101 = buildResponseHead(this.answer.resp, 'connection: upgrade\r\n', false, true, data, end, data.length);
    this.conn.startTunnel(c, this.up, head101);
  }

  onUpstreamClose(c: UpstreamConn, err: Error | undefined): void {
    if (c !== this.uconn) return;
    this.uconn = null;
    if (this.answer.headDone) {
      // A close-delimited answer ends here; any other answer was cut short.
      if (this.answer.body.mode === Framing.CLOSE) {
        this.answer.framing.reusable = false;
        this.finish(true, false);
      } else {
        this.cut(this.timedOut ? 'timeout' : 'reset');
      }
      return;
    }
    this.failAttempt(attemptFailure(this.timedOut, c.connected, err), this.answer.pending === null);
  }

  /** The connection's deadline passed while waiting on the backend. */
  onTimeout(): void {
    const c = this.uconn;
    if (c === null) return;
    this.timedOut = true;
    c.destroy(); // its close event classifies the failure
  }

  private failAttempt(failure: UpstreamFailure, noResponseByte: boolean): void {
    if (this.conn.closed) {
      this.status = 499;
      this.finish(false, false);
      return;
    }
    const again = noResponseByte && replayable(failure, this.conn.bodyStreamed, this.bodyless, this.conn.head.method);
    // SPEC retries: once, on another eligible backend.
    const next = again && this.attempt < 1 ? retryTarget(this.svc, this.pool, this.up) : undefined;
    this.conn.ctx.observer.onUpstreamFailure(this.svc, this.pool, this.up, failure, next !== undefined);
    if (next !== undefined) {
      this.up.end();
      this.counted = false;
      this.attempt++;
      this.pool = next.pool;
      this.up = next.up;
      // Same request id on the retry; only the Host follows the new backend when it is not passed through.
      if (this.out.hostFollowsBackend) this.out.build(this.conn, this.up, this.upgrade);
      this.send();
      return;
    }
    const code = proxyCodeFor(failure);
    // Nothing reached a backend's app (it stopped, say: refused, or a kept-alive socket it closed
    // under an idempotent request): with hold on, the request waits for a backend.
    if (again && this.conn.enterHold(this.svc, code, false)) {
      if (this.counted) {
        this.counted = false;
        this.up.end();
      }
      this.active = false;
      return;
    }
    this.status = PROXY_ERROR_STATUS[code];
    if (this.attempt > 0) this.conn.ctx.observer.onRetriesExhausted(this.svc, this.pool, this.up, failure);
    this.answerError(code);
  }

  /** AnswerOwner: the backend's answer was not HTTP, before anything reached the client: 502. */
  protocolError(): void {
    this.dropUpstream();
    this.conn.ctx.observer.onUpstreamFailure(this.svc, this.pool, this.up, 'error', false);
    this.status = 502;
    this.answerError('upstream_error');
  }

  /** AnswerOwner: the answer broke after bytes reached the client: never retried, the client connection is cut. */
  cut(reason: UpstreamFailure): void {
    this.dropUpstream();
    this.conn.ctx.observer.onUpstreamFailure(this.svc, this.pool, this.up, reason, false);
    this.conn.keepAlive = false;
    this.conn.socket.destroy();
    this.finish(false, false);
  }

  private answerError(code: ProxyErrorCode): void {
    const conn = this.conn;
    if (!conn.reqBodyDone || this.holdBody || this.upgrade) conn.keepAlive = false;
    if (conn.ctx.closing) conn.keepAlive = false;
    conn.write(proxyAnswer(code, this.out.requestId ?? conn.head.value(H.X_REQUEST_ID), !conn.keepAlive, conn.grpc));
    conn.ctx.observer.onProxyError(this.svc, this.pool, code, performance.now() - this.started);
    this.finish(false, true);
  }

  /** The client went away: stop the backend's work, count a 499 when nothing was answered. */
  clientGone(): void {
    this.dropUpstream();
    if (!this.active) return;
    if (!this.answer.started) this.status = 499;
    this.finish(false, false);
  }

  /** The client's body was malformed midway: the backend's request is cut, the client gets 400 when nothing was answered. */
  clientBodyFailed(): void {
    this.dropUpstream();
    this.conn.keepAlive = false;
    if (!this.answer.started) this.conn.refuse(400);
    this.status = 400;
    this.finish(false, true);
  }

  /** Lets go of the backend's socket mid-request: it is closed, never reused. */
  private dropUpstream(): void {
    const c = this.uconn;
    this.uconn = null;
    if (c !== null) {
      c.owner = null;
      c.destroy();
    }
  }

  private finish(ok: boolean, proxyAnswered: boolean): void {
    if (!this.active) return;
    this.active = false;
    const ctx = this.conn.ctx;
    if (this.counted) {
      this.counted = false;
      this.up.end();
    }
    if (this.svc.settings.maxRequestsPerBackend > 0) ctx.roomFreed(this.svc.name);
    const ms = performance.now() - this.started;
    if (!proxyAnswered) ctx.observer.onResponse(this.svc, this.pool, this.up, ok ? this.status : this.status || 502, ms, this.grpcStatus, this.conn.h2);
    if (ctx.accessLogger !== undefined) logAccess(this.conn, this.svc, this.pool, this.up, this.status, this.grpcStatus, ms);
    this.out.release();
    this.answer.release();
    this.conn.exchangeDone();
  }
}
