import type { Socket } from 'node:net';
import type { ProxyErrorCode } from '../errors.js';
import type { PoolTable, ServiceTable } from './table.js';
import { errorAnswer, refusal, SHUTTING_DOWN } from './answers.js';
import { pickBackend } from './choose.js';
import type { PickResult } from './choose.js';
import type { EngineContext, HoldWaiter } from './context.js';
import { Deadline } from './client-side.js';
import type { ClientSide } from './client-side.js';
import type { Exchange } from './exchange.js';
import { FRAMING_ERROR } from './framing.js';
import type { BodyTracker } from './framing.js';
import { errorStatus, H } from './head.js';
import type { RequestHead } from './head.js';
import type { HoldTicket } from './hold-ticket.js';
import { HEAD_TOO_LARGE, Inbox } from './inbox.js';
import { parseRequestHead } from './parser.js';
import { isWebSocket, keepAliveWanted, requestFraming, upgradeWanted } from './request-facts.js';
import { Tunnel } from './tunnel.js';
import type { RequestSlot, SlotPool } from './slot.js';
import type { Upstream, UpstreamConn, UpgradedConnection } from './upstream.js';

const EMPTY = Buffer.alloc(0);

/** Pipelined bytes read ahead while a request is answered; past this the client is paused. */
const MAX_READ_AHEAD = 64 * 1024;
/** After turnout ends a connection, the client has this long to close its side. */
const CLOSE_GRACE_MS = 5000;

/**
 * One client connection: a small state machine that reads a request head, routes it, hands it to
 * its Exchange, streams the body, and moves to the next request (keep-alive, pipelining in order).
 * Listeners are bound once per connection; nothing is allocated per request but the head bytes
 * sent upstream.
 */
export class ClientConnection implements UpgradedConnection, ClientSide, HoldWaiter {
  readonly socket: Socket;
  readonly ctx: EngineContext;
  readonly remote: string;
  /** Per-request state, taken from the server's pool while a request is parsed or answered. */
  private slot: RequestSlot | null = null;
  keepAlive = true;
  /** A request is being answered. */
  reqActive = false;
  reqBodyDone = true;
  /** Body bytes beyond those that came with the head went to the backend: no replay possible. */
  bodyStreamed = false;
  closed = false;
  /** Deadline (ctx.clock ms) and what it is for; 0 = none. */
  deadline = 0;
  deadlineKind: number = Deadline.NONE;
  /** Bytes read and not used yet: a partial head, pipelined requests, body bytes that wait. */
  private readonly inbox = new Inbox();
  private ending = false;
  private clientEnded = false;
  private upstreamFull = false;
  private paused = false;
  private inLoop = false;
  /** This request is an upgrade counted in the server's upgrades (not its requests). */
  private upgradeCounted = false;
  private requestStarted = 0;
  /** The request being answered: its buffer, head end and the end of the body bytes that came with it. */
  private reqBuf: Buffer = EMPTY;
  private reqHeadEnd = 0;
  private reqBodyEnd = 0;
  private upgradeReq = false;
  private readonly picked: PickResult = { pool: undefined, full: false };
  /** The backend an upgrade request went to, so a drain can close it before its 101. */
  private upgradeUp: Upstream | undefined;

  private readonly slots: SlotPool;

  constructor(ctx: EngineContext, socket: Socket, slots: SlotPool) {
    this.ctx = ctx;
    this.slots = slots;
    this.socket = socket;
    this.remote = socket.remoteAddress ?? '';
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    this.setDeadline(Deadline.HEAD, ctx.listenConfig.headersTimeoutMs);
  }

  get head(): RequestHead {
    return (this.slot ?? this.takeSlot()).head;
  }

  get reqBody(): BodyTracker {
    return (this.slot ?? this.takeSlot()).reqBody;
  }

  private takeSlot(): RequestSlot {
    const slot = this.slots.take();
    slot.exchange.conn = this;
    this.slot = slot;
    return slot;
  }

  private get exchange(): Exchange | undefined {
    return this.slot?.exchange;
  }

  private get hold(): HoldTicket {
    return (this.slot ?? this.takeSlot()).hold;
  }

  /** The request waits in a hold queue. */
  private get waiting(): boolean {
    return this.slot !== null && this.slot.hold.waiting;
  }

  /** An idle connection keeps no per-request state: 10,000 idle clients must stay cheap. */
  private giveSlot(): void {
    if (this.slot === null) return;
    this.slot.head.release();
    this.slots.give(this.slot);
    this.slot = null;
  }

  setDeadline(kind: number, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = kind === Deadline.NONE || ms <= 0 ? 0 : this.ctx.clock + ms;
  }

  write(data: Buffer | string): boolean {
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.ending || this.closed) return;
    // Body bytes go straight to the backend once it can take them; until then (connecting, or
    // waiting for 100 Continue) they wait here, so a refused connect can still be retried.
    if (this.reqActive && !this.reqBodyDone && this.inbox.buf === null && this.exchange?.canSendBody === true) {
      this.bodyBytes(chunk, 0);
      return;
    }
    this.inbox.append(chunk);
    if (!this.reqActive) this.loop();
    else this.updateReading();
  };

  private bodyBytes(chunk: Buffer, start: number): void {
    const stop = this.reqBody.feed(chunk, start, chunk.length);
    if (stop === FRAMING_ERROR) {
      this.exchange?.clientBodyFailed();
      return;
    }
    const end = stop >= 0 ? stop : chunk.length;
    if (end > start && this.exchange !== undefined) {
      this.bodyStreamed = true;
      if (!this.exchange.sendBody(chunk, start, end)) this.upstreamFull = true;
    }
    if (stop >= 0) {
      this.reqBodyDone = true;
      this.exchange?.bodyDone();
      if (stop < chunk.length) {
        // The next pipelined request: kept until this one is answered.
        this.inbox.keep(chunk, stop);
      }
    }
    this.updateReading();
  }

  /** The backend connected, or sent 100 Continue: body bytes that waited now go out. */
  flushHeldBody(): void {
    const buf = this.inbox.buf;
    if (buf !== null && this.reqActive && !this.reqBodyDone) {
      this.inbox.clear();
      this.bodyBytes(buf, this.inbox.start);
    } else {
      this.updateReading();
    }
  }

  upstreamDrained(): void {
    this.upstreamFull = false;
    this.updateReading();
  }

  private readonly onDrain = (): void => {
    this.exchange?.onClientDrain();
  };

  /** Reads from the client only when the bytes have somewhere to go (backpressure both ways). */
  updateReading(): void {
    let want = true;
    if (this.reqActive && !this.ending) {
      if (!this.reqBodyDone) {
        want = !this.upstreamFull && this.exchange !== undefined && this.exchange.canSendBody;
        // Waiting for a backend: body bytes gather here (a client that leaves is seen).
        if (!want && this.waiting) want = this.inbox.size < MAX_READ_AHEAD;
      }
      else want = this.inbox.size < MAX_READ_AHEAD;
    }
    if (want === !this.paused) return;
    this.paused = !want;
    if (want) this.socket.resume();
    else this.socket.pause();
  }

  private loop(): void {
    if (this.inLoop) return;
    this.inLoop = true;
    while (!this.reqActive && !this.closed && !this.ending && this.inbox.buf !== null) {
      if (!this.next()) break;
    }
    this.inLoop = false;
    if (!this.closed) this.updateReading();
  }

  /** Parses the next head from the inbox and starts its request; false when more bytes are needed. */
  private next(): boolean {
    const inbox = this.inbox;
    if (!inbox.skipEmptyLines()) return false;
    if (this.deadlineKind === Deadline.IDLE) this.setDeadline(Deadline.HEAD, this.ctx.listenConfig.headersTimeoutMs);
    const at = inbox.findHead(this.ctx.limits.maxHeaderSize);
    if (at < 0) {
      if (at === HEAD_TOO_LARGE) this.refuse(431);
      return false;
    }
    const buf = inbox.buf as Buffer;
    const r = parseRequestHead(buf, inbox.start, at, this.ctx.limits, this.head);
    if (r <= 0) {
      this.refuse(r === 0 ? 400 : errorStatus(r));
      return false;
    }
    this.begin(buf, at);
    return true;
  }

  private begin(buf: Buffer, headEnd: number): void {
    const head = this.head;
    const body = this.reqBody;
    body.reset(requestFraming(head), head.contentLength);
    let bodyEnd = headEnd;
    if (!body.done) {
      const stop = body.feed(buf, headEnd, buf.length);
      // A malformed chunk in the bytes at hand: refused before anything reaches a backend.
      if (stop === FRAMING_ERROR) return this.refuse(400);
      bodyEnd = stop >= 0 ? stop : buf.length;
    }
    this.reqBodyDone = body.done;
    this.bodyStreamed = false;
    this.inbox.consumed(buf, bodyEnd);
    this.reqActive = true;
    this.requestStarted = performance.now();
    this.setDeadline(Deadline.NONE, 0);
    const ctx = this.ctx;
    this.keepAlive = keepAliveWanted(head, ctx.closing);
    const upgrade = upgradeWanted(head);
    if (upgrade) {
      this.keepAlive = false;
      this.upgradeCounted = true;
      ctx.upgradeStarted(this);
      if (ctx.closing) {
        this.write(SHUTTING_DOWN);
        return this.requestOver();
      }
    } else {
      ctx.requestStarted();
    }
    this.reqBuf = buf;
    this.reqHeadEnd = headEnd;
    this.reqBodyEnd = bodyEnd;
    this.upgradeReq = upgrade;
    this.hold.reset();
    const svc = ctx.tables.current.match(head.hostname, head.path);
    if (svc === undefined) return this.answer('no_route', undefined, undefined);
    if (this.tryStart(svc)) return;
    if (!this.enterHold(svc, 'no_backend', this.picked.full)) this.answer('no_backend', svc, this.picked.pool);
  }

  /** Picks a pool and a backend with room and starts the exchange; false when there is none. */
  private tryStart(svc: ServiceTable): boolean {
    const up = pickBackend(svc, this.head, Math.random(), this.picked);
    const pool = this.picked.pool;
    if (up === undefined || pool === undefined) return false;
    if (this.waiting) this.leaveHold('served');
    if (this.upgradeReq) {
      this.upgradeUp = up;
      up.upgrades.add(this);
    }
    (this.exchange as Exchange).start(svc, pool, up, this.requestStarted, this.reqBuf, this.reqHeadEnd, this.reqBodyEnd, this.upgradeReq);
    return true;
  }

  /**
   * The request waits for a backend (SPEC "Hold and limits") when the service holds (hold.timeout)
   * or when every backend is at maxRequestsPerBackend (then up to hold.timeout, or the response
   * timeout when hold is off). False when it cannot wait: hold off, the queue full, its time spent,
   * an upgrade, or the proxy shutting down. `code` is what it gets if its time runs out.
   */
  enterHold(svc: ServiceTable, code: ProxyErrorCode, full: boolean): boolean {
    if (this.upgradeReq || this.ctx.closing || this.closed) return false;
    const hold = this.hold;
    if (!hold.enter(this.ctx, this, svc, code, full)) return false;
    this.setDeadline(Deadline.HOLD, hold.deadline - this.ctx.clock);
    this.updateReading();
    return true;
  }

  /** HoldWaiter: the table changed, the retry tick came, or a backend has room. */
  retryHold(): boolean {
    if (!this.waiting) return true;
    const svc = this.ctx.tables.current.services.get(this.hold.service);
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
  private holdOver(outcome: 'timed_out' | 'left'): void {
    if (!this.waiting) return;
    this.leaveHold(outcome);
    const hold = this.hold;
    this.answer(hold.code, this.ctx.tables.current.services.get(hold.service), undefined);
  }

  private leaveHold(outcome: 'served' | 'timed_out' | 'left'): void {
    this.hold.leave(this.ctx, this, outcome);
  }

  /** The proxy answers itself before any backend was tried (no route, no backend). */
  private answer(code: ProxyErrorCode, svc: ServiceTable | undefined, pool: PoolTable | undefined): void {
    if (!this.reqBodyDone) this.keepAlive = false;
    this.write(errorAnswer(code, this.head.value(H.X_REQUEST_ID), !this.keepAlive));
    this.ctx.observer.onProxyError(svc, pool, code, performance.now() - this.requestStarted);
    this.requestOver();
  }

  /** Called by the exchange when its request is over (answered, failed or cut). */
  exchangeDone(): void {
    this.requestOver();
  }

  private requestOver(): void {
    if (!this.reqActive) return;
    this.reqActive = false;
    this.reqBuf = EMPTY;
    this.hold.reset();
    this.head.release();
    if (this.upgradeCounted) {
      this.upgradeCounted = false;
      this.upgradeUp?.upgrades.delete(this);
      this.upgradeUp = undefined;
      this.ctx.upgradeDone(this);
    } else {
      this.ctx.requestDone();
    }
    if (this.closed) {
      this.giveSlot();
      return;
    }
    if (!this.keepAlive || this.ctx.closing || !this.reqBodyDone || this.clientEnded) {
      this.giveSlot();
      this.endSoon();
      return;
    }
    this.upstreamFull = false;
    this.setDeadline(Deadline.IDLE, this.ctx.listenConfig.keepAliveTimeoutMs);
    if (this.inbox.buf === null) this.giveSlot();
    this.loop();
  }

  /** A request turnout will not forward: the status, then the connection closes. Nothing reached a backend. */
  refuse(status: number): void {
    this.inbox.clear();
    this.keepAlive = false;
    if (!this.ending && !this.closed) this.socket.write(refusal(status), 'latin1');
    this.endSoon();
  }

  private endSoon(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.inbox.clear();
    this.socket.end();
    this.setDeadline(Deadline.CLOSING, CLOSE_GRACE_MS);
    if (this.paused) {
      // Keep reading (and dropping) so the client's close is seen.
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Closes an idle keep-alive connection (shutdown); one answering a request is left alone. */
  closeIfIdle(): void {
    if (!this.reqActive && !this.closed) this.endSoon();
  }

  /** UpgradedConnection, before the backend's 101: both sides are simply closed. */
  close(): void {
    this.exchange?.clientGone();
    this.socket.destroy();
  }

  /** The backend accepted the upgrade: the two sockets are joined and this object steps aside. */
  startTunnel(c: UpstreamConn, up: Upstream, head101: Buffer): void {
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('drain', this.onDrain);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    this.closed = true;
    this.reqActive = false;
    this.setDeadline(Deadline.NONE, 0);
    const inbox = this.inbox;
    const pending = inbox.buf === null ? undefined : inbox.buf.subarray(inbox.start);
    inbox.clear();
    const websocket = isWebSocket(this.head);
    this.giveSlot();
    // The tunnel is counted before this request stops being: in-flight never dips to 0 between.
    const tunnel = new Tunnel(this.ctx, socket, c, up, websocket);
    tunnel.open(head101, pending);
    this.upgradeUp?.upgrades.delete(this);
    this.upgradeUp = undefined;
    this.upgradeCounted = false;
    this.ctx.upgradeDone(this);
    this.ctx.connectionClosed(this);
    if (this.paused) socket.resume();
  }

  /** The server's sweep: a deadline passed. */
  tick(): void {
    const kind = this.deadlineKind;
    this.setDeadline(Deadline.NONE, 0);
    switch (kind) {
      case Deadline.HEAD:
        // No whole head within listen.headersTimeout (slowloris): 408.
        if (!this.reqActive) this.refuse(408);
        break;
      case Deadline.IDLE:
      case Deadline.CLOSING:
        this.socket.destroy();
        break;
      case Deadline.CONNECT:
      case Deadline.RESPONSE:
        this.exchange?.onTimeout();
        break;
      case Deadline.HOLD:
        // hold.timeout passed: 503 no_backend, or the last error the tries met.
        this.holdOver('timed_out');
        break;
      default:
        break;
    }
  }

  private readonly onEnd = (): void => {
    this.clientEnded = true;
    if (this.ending) {
      this.socket.destroy();
      return;
    }
    if (!this.reqActive) {
      // A half-sent head (or nothing): nothing to answer.
      this.socket.end();
      this.ending = true;
      this.setDeadline(Deadline.CLOSING, CLOSE_GRACE_MS);
      return;
    }
    // A waiting request whose client closed: it leaves the queue (nothing reached a backend yet).
    if (this.waiting) {
      this.socket.destroy();
      return;
    }
    // A body cut short by the client: the request cannot complete.
    if (!this.reqBodyDone) this.exchange?.clientGone();
  };

  private readonly onError = (): void => {
    // 'close' follows; nothing to answer on a broken socket.
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.inbox.clear();
    this.ctx.connectionClosed(this);
    if (this.waiting) this.leaveHold('left');
    if (this.reqActive) {
      if (this.exchange !== undefined && this.exchange.active) this.exchange.clientGone();
      else this.requestOver();
    }
    this.giveSlot();
  };
}
