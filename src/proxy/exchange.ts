import { randomUUID } from 'node:crypto';
import { classifyUpstreamError, PROXY_ERROR_STATUS, proxyCodeFor } from '../errors.js';
import type { ProxyErrorCode, UpstreamFailure } from '../errors.js';
import type { PoolTable, ServiceTable } from './table.js';
import { errorAnswer } from './answers.js';
import { stickyLine } from './choose.js';
import { Deadline } from './client-side.js';
import type { ClientSide } from './client-side.js';
import { BodyTracker, Framing, FRAMING_ERROR } from './framing.js';
import { H, ResponseHead } from './head.js';
import { findHeadEnd, parseResponseHead } from './parser.js';
import { buildRequestHead, buildResponseHead } from './rewrite.js';
import type { Upstream, UpstreamConn, UpstreamOwner } from './upstream.js';

/** Methods that can be safely sent again after a reset with no response byte. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** A backend's answer head may take this many bytes; more is a 502. */
const MAX_RESPONSE_HEAD = 64 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * Body bytes up to this size are copied behind the head into one buffer (Node's allocation pool
 * serves it, one write); larger ones go out as a second buffer of the same corked write (writev),
 * never copied: a 64 KiB copy and a fresh 64 KiB allocation per answer cost more than the write.
 */
const INLINE_BODY = 2048;

/**
 * The request in progress on one client connection: picks up an upstream connection, sends the
 * rewritten head, relays the answer, retries once when SPEC allows, and counts the backend's
 * in-flight exactly once. One per client connection, reused for each of its requests (no
 * allocation per request); its listeners are methods, not closures.
 */
export class Exchange implements UpstreamOwner {
  /** The connection this exchange serves now (exchanges are pooled by the server). */
  conn!: ClientSide;
  private readonly resp = new ResponseHead();
  private readonly respBody = new BodyTracker();
  svc!: ServiceTable;
  pool!: PoolTable;
  up!: Upstream;
  uconn: UpstreamConn | null = null;
  active = false;
  /** The request asked for an Upgrade (WebSocket): a 101 turns the connection into a tunnel. */
  upgrade = false;
  /** Expect: 100-continue: no body byte goes out before the backend's 100 or final answer. */
  holdBody = false;
  respStarted = false;
  status = 0;
  private started = 0;
  private sendBuf: Buffer = EMPTY;
  private body: Buffer = EMPTY;
  private bodyStart = 0;
  private bodyEnd = 0;
  private held: Buffer | undefined;
  private hostFollowsBackend = false;
  private requestId: string | undefined;
  private sticky = '';
  private attempt = 0;
  private counted = false;
  private respHeadDone = false;
  private respBuf: Buffer | null = null;
  private reusable = false;
  private dechunk = false;
  private timedOut = false;
  private upstreamPaused = false;
  private bodyless = true;

  /**
   * Starts forwarding the request whose head the connection just parsed. `body[bodyStart..bodyEnd)`
   * are the body bytes that arrived with the head.
   */
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
    this.respStarted = false;
    this.requestId = head.has(H.X_REQUEST_ID) ? undefined : randomUUID();
    this.holdBody = head.expectContinue && !this.conn.reqBodyDone;
    if (this.holdBody && bodyEnd > bodyStart) {
      // The client did not wait for 100: keep its first bytes until the backend asks.
      this.held = body.subarray(bodyStart, bodyEnd);
      bodyEnd = bodyStart;
    } else {
      this.held = undefined;
    }
    this.bodyless = this.conn.reqBody.mode === Framing.NONE;
    this.body = body;
    this.bodyStart = bodyStart;
    this.bodyEnd = bodyEnd;
    this.sticky = stickyLine(svc, head, pool);
    this.hostFollowsBackend = !svc.settings.preserveHost || head.host === '';
    this.sendBuf = this.buildHead();
    this.send();
  }

  private buildHead(): Buffer {
    const head = this.conn.head;
    let hostLine: string | undefined;
    if (this.hostFollowsBackend) hostLine = this.up.hostLine;
    else if (head.absoluteForm) hostLine = `host: ${head.host}\r\n`;
    return buildRequestHead(
      head,
      {
        proto: this.conn.ctx.proto,
        remote: this.conn.remote,
        allowUnderscoreHeaders: this.conn.ctx.listenConfig.allowUnderscoreHeaders,
        hostLine,
        upgrade: this.upgrade,
        requestId: this.requestId,
      },
      this.bodyEnd - this.bodyStart <= INLINE_BODY ? this.body : undefined,
      this.bodyStart,
      this.bodyEnd,
    );
  }

  /** The request head and the body bytes that came with it, in one write. */
  private writeRequest(c: UpstreamConn): void {
    if (this.bodyEnd - this.bodyStart <= INLINE_BODY) {
      c.socket.write(this.sendBuf);
      return;
    }
    c.socket.cork();
    c.socket.write(this.sendBuf);
    c.socket.write(this.body.subarray(this.bodyStart, this.bodyEnd));
    c.socket.uncork();
  }

  private send(): void {
    this.up.begin();
    this.counted = true;
    this.respHeadDone = false;
    this.respBuf = null;
    this.timedOut = false;
    this.upstreamPaused = false;
    const c = this.up.acquire(this);
    this.uconn = c;
    this.writeRequest(c);
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
    this.conn.ctx.reclaimer.add(end - start);
    return c.socket.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  }

  /** The client's body ended: the backend's time to answer starts. */
  bodyDone(): void {
    if (this.uconn !== null && this.uconn.connected && !this.respHeadDone) this.armResponse();
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
    const c = this.uconn;
    if (c === null || !this.upstreamPaused) return;
    this.upstreamPaused = false;
    c.socket.resume();
    this.conn.setDeadline(Deadline.RESPONSE, this.svc.settings.responseTimeoutMs);
  }

  onUpstreamData(c: UpstreamConn, chunk: Buffer): void {
    if (c !== this.uconn) return;
    if (this.respHeadDone) this.onBodyBytes(chunk);
    else this.onHeadBytes(chunk);
  }

  private onHeadBytes(chunk: Buffer): void {
    const data = this.respBuf === null ? chunk : Buffer.concat([this.respBuf, chunk]);
    let start = 0;
    for (;;) {
      const end = findHeadEnd(data, start, data.length);
      if (end < 0) {
        if (data.length - start > MAX_RESPONSE_HEAD) return this.protocolError();
        this.respBuf = start === 0 ? data : data.subarray(start);
        return;
      }
      if (parseResponseHead(data, start, end, this.resp) <= 0) return this.protocolError();
      const status = this.resp.status;
      if (status >= 200) {
        this.respHeadDone = true;
        this.respBuf = null;
        return this.startResponse(data, end);
      }
      if (status === 101) {
        if (!this.upgrade) return this.protocolError();
        return this.startTunnel(data, end);
      }
      // 1xx: 100 releases a held body; every 1xx is relayed to HTTP/1.1 clients (RFC 9110 §15.2).
      if (status === 100 && this.holdBody) this.releaseHold();
      if (this.conn.head.version === 11) this.conn.write(buildResponseHead(this.resp, '', false, false, undefined, 0, 0));
      start = end;
      if (start === data.length) {
        this.respBuf = null;
        return;
      }
    }
  }

  private releaseHold(): void {
    this.holdBody = false;
    this.conn.bodyStreamed = true;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined && this.uconn !== null) this.uconn.socket.write(held);
    this.conn.flushHeldBody();
  }

  private startResponse(data: Buffer, end: number): void {
    const conn = this.conn;
    const head = conn.head;
    const resp = this.resp;
    const status = resp.status;
    this.status = status;
    let mode: number;
    if (head.method === 'HEAD' || status === 204 || status === 304) mode = Framing.NONE;
    else if (resp.chunked) mode = Framing.CHUNKED;
    else if (resp.contentLength >= 0) mode = Framing.LENGTH;
    else mode = Framing.CLOSE;
    this.reusable = resp.version === 11 && !resp.connClose && mode !== Framing.CLOSE;
    this.dechunk = mode === Framing.CHUNKED && head.version === 10;
    // The client connection stays open only when this answer is framed for it and its request is whole.
    const keep = conn.keepAlive && mode !== Framing.CLOSE && !this.dechunk && !conn.ctx.closing && conn.reqBodyDone && !this.holdBody && !this.upgrade;
    conn.keepAlive = keep;
    let tail = this.sticky;
    tail += keep ? conn.ctx.keepAliveLines : 'connection: close\r\n';
    const body = this.respBody;
    body.reset(mode, resp.contentLength);
    this.respStarted = true;
    if (this.dechunk) {
      conn.write(buildResponseHead(resp, tail, true, false, undefined, 0, 0));
      body.sink = this.sinkToClient;
      this.relayed(body.feed(data, end, data.length), data.length, true);
      return;
    }
    const stop = body.feed(data, end, data.length);
    if (stop === FRAMING_ERROR) {
      this.respStarted = false;
      return this.protocolError();
    }
    const bodyEnd = stop >= 0 ? stop : data.length;
    let ok: boolean;
    const newHead = buildResponseHead(resp, tail, false, false, undefined, 0, 0);
    if (newHead.length <= end - resp.start) {
      // The usual case: the rewritten head is no longer than the backend's (hop-by-hop lines went
      // out). It takes the old head's place in the receive buffer, which is ours, and the answer
      // leaves as one contiguous slice: no copy of the body, no writev.
      const at = end - newHead.length;
      newHead.copy(data, at);
      ok = conn.write(data.subarray(at, bodyEnd));
    } else if (bodyEnd - end <= INLINE_BODY) {
      ok = conn.write(buildResponseHead(resp, tail, false, false, data, end, bodyEnd));
    } else {
      const socket = conn.socket;
      socket.cork();
      socket.write(newHead);
      ok = socket.write(data.subarray(end, bodyEnd));
      socket.uncork();
    }
    this.relayed(stop, data.length, ok);
  }

  private readonly sinkToClient = (buf: Buffer, start: number, end: number): void => {
    if (end > start) this.conn.write(buf.subarray(start, end));
  };

  private onBodyBytes(chunk: Buffer): void {
    this.conn.ctx.reclaimer.add(chunk.length);
    const stop = this.respBody.feed(chunk, 0, chunk.length);
    if (stop === FRAMING_ERROR) return this.cut('error');
    let ok: boolean;
    if (this.dechunk) ok = !this.conn.socket.writableNeedDrain;
    else ok = this.conn.write(stop >= 0 && stop < chunk.length ? chunk.subarray(0, stop) : chunk);
    this.relayed(stop, chunk.length, ok);
  }

  /** After relaying a piece of the answer: done, or wait for more (pausing the backend when the client is full). */
  private relayed(stop: number, length: number, ok: boolean): void {
    if (stop === FRAMING_ERROR) return this.cut('error');
    if (stop >= 0) {
      // Bytes after the end of the answer: the backend broke its framing; do not reuse the socket.
      if (stop < length) this.reusable = false;
      return this.responseDone();
    }
    if (!ok && this.uconn !== null) {
      this.upstreamPaused = true;
      this.uconn.socket.pause();
      this.conn.setDeadline(Deadline.NONE, 0); // the client's time, not the backend's
    } else {
      this.conn.setDeadline(Deadline.RESPONSE, this.svc.settings.responseTimeoutMs);
    }
  }

  private responseDone(): void {
    const c = this.uconn;
    this.uconn = null;
    if (c !== null) {
      if (this.upstreamPaused) c.socket.resume();
      this.up.release(c, this.reusable && this.conn.reqBodyDone && !this.holdBody);
    }
    this.finish(true, false);
  }

  private startTunnel(data: Buffer, end: number): void {
    const c = this.uconn;
    if (c === null) return;
    this.uconn = null;
    // The tunnel owns the backend's in-flight count from here until it closes.
    this.counted = false;
    this.active = false;
    this.status = 101;
    const head101 = buildResponseHead(this.resp, 'connection: upgrade\r\n', false, true, data, end, data.length);
    this.conn.startTunnel(c, this.up, head101);
  }

  onUpstreamClose(c: UpstreamConn, err: Error | undefined): void {
    if (c !== this.uconn) return;
    this.uconn = null;
    if (this.respHeadDone) {
      // A close-delimited answer ends here; any other answer was cut short.
      if (this.respBody.mode === Framing.CLOSE) {
        this.reusable = false;
        this.finish(true, false);
      } else {
        this.cut(this.timedOut ? 'timeout' : 'reset');
      }
      return;
    }
    let failure: UpstreamFailure;
    if (this.timedOut) failure = c.connected ? 'timeout' : 'connect_timeout';
    else if (err === undefined) failure = c.connected ? 'reset' : 'connect_reset';
    else failure = classifyUpstreamError(err, c.connected);
    this.failAttempt(failure, this.respBuf === null);
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
    const next = noResponseByte ? this.retryTarget(failure) : undefined;
    this.conn.ctx.observer.onUpstreamFailure(this.svc, this.pool, this.up, failure, next !== undefined);
    if (next !== undefined) {
      this.up.end();
      this.counted = false;
      this.attempt++;
      this.pool = next.pool;
      this.up = next.up;
      // Same request id on the retry; only the Host follows the new backend when it is not passed through.
      if (this.hostFollowsBackend) this.sendBuf = this.buildHead();
      this.send();
      return;
    }
    const code = proxyCodeFor(failure);
    // Nothing reached a backend's app (it stopped, say: refused, or a kept-alive socket it closed
    // under an idempotent request): with hold on, the request waits for a backend.
    if (noResponseByte && this.replayable(failure) && this.conn.enterHold(this.svc, code, false)) {
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

  /**
   * The request may go again: nothing reached a backend (any method), or a reset with no response
   * byte on a bodiless idempotent request (the backend may have read a body: never sent twice).
   */
  private replayable(failure: UpstreamFailure): boolean {
    if (this.conn.bodyStreamed) return false;
    if (failure === 'connect_refused' || failure === 'connect_timeout' || failure === 'connect_reset') return true;
    return failure === 'reset' && this.bodyless && IDEMPOTENT.has(this.conn.head.method);
  }

  /** SPEC retries: once, on another eligible backend, when the request is replayable. */
  private retryTarget(failure: UpstreamFailure): { pool: PoolTable; up: Upstream } | undefined {
    if (this.attempt >= 1 || !this.replayable(failure)) return undefined;
    const max = this.svc.settings.maxRequestsPerBackend;
    const same = this.pool.balancer.pickOther(this.up);
    if (same !== undefined && (max === 0 || same.inFlight < max)) return { pool: this.pool, up: same };
    for (const p of this.svc.picker.order) {
      if (p === this.pool) continue;
      const up = p.balancer.pick();
      if (up !== undefined && up !== this.up && (max === 0 || up.inFlight < max)) return { pool: p, up };
    }
    return undefined;
  }

  /** The backend's answer was not HTTP, before anything reached the client: 502. */
  private protocolError(): void {
    const c = this.uconn;
    this.uconn = null;
    if (c !== null) {
      c.owner = null;
      c.destroy();
    }
    this.conn.ctx.observer.onUpstreamFailure(this.svc, this.pool, this.up, 'error', false);
    this.status = 502;
    this.answerError('upstream_error');
  }

  /** The answer broke after bytes reached the client: never retried, the client connection is cut. */
  private cut(reason: UpstreamFailure): void {
    const c = this.uconn;
    this.uconn = null;
    if (c !== null) {
      c.owner = null;
      c.destroy();
    }
    this.conn.ctx.observer.onUpstreamFailure(this.svc, this.pool, this.up, reason, false);
    this.conn.keepAlive = false;
    this.conn.socket.destroy();
    this.finish(false, false);
  }

  private answerError(code: ProxyErrorCode): void {
    const conn = this.conn;
    if (!conn.reqBodyDone || this.holdBody || this.upgrade) conn.keepAlive = false;
    if (conn.ctx.closing) conn.keepAlive = false;
    conn.write(errorAnswer(code, this.requestId ?? conn.head.value(H.X_REQUEST_ID), !conn.keepAlive));
    conn.ctx.observer.onProxyError(this.svc, this.pool, code, performance.now() - this.started);
    this.finish(false, true);
  }

  /** The client went away: stop the backend's work, count a 499 when nothing was answered. */
  clientGone(): void {
    const c = this.uconn;
    this.uconn = null;
    if (c !== null) {
      c.owner = null;
      c.destroy();
    }
    if (!this.active) return;
    if (!this.respStarted) this.status = 499;
    this.finish(false, false);
  }

  /** The client's body was malformed midway: the backend's request is cut, the client gets 400 when nothing was answered. */
  clientBodyFailed(): void {
    const c = this.uconn;
    this.uconn = null;
    if (c !== null) {
      c.owner = null;
      c.destroy();
    }
    this.conn.keepAlive = false;
    if (!this.respStarted) this.conn.refuse(400);
    this.status = 400;
    this.finish(false, true);
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
    if (!proxyAnswered) ctx.observer.onResponse(this.svc, this.pool, this.up, ok ? this.status : this.status || 502, ms);
    if (ctx.accessLogger !== undefined && (ctx.accessSample >= 1 || Math.random() < ctx.accessSample)) {
      // JSON-escaped by pino; never interpolated into a format string.
      ctx.accessLogger.info(
        { method: this.conn.head.method, url: this.conn.head.path, status: this.status, service: this.svc.name, pool: this.pool.name, backend: this.up.id, ms: Math.round(ms * 10) / 10 },
        'access',
      );
    }
    this.body = EMPTY;
    this.sendBuf = EMPTY;
    this.held = undefined;
    this.resp.buf = EMPTY;
    this.conn.exchangeDone();
  }
}
