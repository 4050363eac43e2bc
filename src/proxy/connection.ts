import type { Socket } from 'node:net';
import type { ProxyErrorCode } from '../errors.js';
import type { ServiceTable } from './table.js';
import { refusal } from './answers.js';
import type { EngineContext } from './context.js';
import { Deadline, deadlineAt, idleGraceLeft, type ClientSide } from './client-side.js';
import { RequestDispatch, type DispatchHost } from './dispatch.js';
import type { Exchange } from './exchange.js';
import type { BodyTracker } from './framing.js';
import type { RequestHead } from './head.js';
import type { HoldTicket } from './hold-ticket.js';
import { ClientIntake, type IntakeHost } from './intake.js';
import { prefaceRead } from './h2/index.js';
import { isWebSocket } from './request-facts.js';
import { Tunnel } from './tunnel.js';
import type { RequestSlot, SlotPool } from './slot.js';
import type { Upstream, UpstreamConn } from './upstream.js';

/** After turnout ends a connection, the client has this long to close its side. */
const CLOSE_GRACE_MS = 5000;

/**
 * One client connection: a small state machine that reads a request head (its ClientIntake),
 * routes it (its RequestDispatch), hands it to its Exchange, streams the body, and moves to the next
 * request (keep-alive, pipelining in order). Listeners are bound once per connection; nothing is
 * allocated per request but the head bytes sent upstream.
 */
export class ClientConnection implements ClientSide, DispatchHost, IntakeHost {
  readonly socket: Socket;
  readonly ctx: EngineContext;
  readonly remote: string;
  /** A gRPC call (an HTTP/2 stream's content-type): its errors are gRPC-shaped, its grpc-timeout bounds it. */
  readonly grpc: boolean;
  /** ctx.clock ms its grpc-timeout ends; 0 = none. */
  readonly callDeadline: number;
  /** An HTTP/2 stream (the live views count the share of HTTP/2 per pool). */
  readonly h2: boolean;
  /** Per-request state, taken from the server's pool while a request is parsed or answered. */
  private slot: RequestSlot | null = null;
  keepAlive = true;
  /** A request is being answered. */
  reqActive = false;
  reqBodyDone = true;
  /** Body bytes beyond those that came with the head went to the backend: no replay possible. */
  bodyStreamed = false;
  closed = false;
  /** Deadline (ctx.clock ms; 0 = none), what it is for, and the clock it was counted from (see sweep.ts). */
  deadline = 0;
  deadlineKind: number = Deadline.NONE;
  deadlineFrom = 0;
  /** The connection is closing: nothing more is read. */
  ending = false;
  private clientEnded = false;
  /** Reading: the bytes not used yet, the parse of the next head, the body, backpressure. */
  private readonly intake: ClientIntake = new ClientIntake(this);
  /** Routing, backend picking and hold for each request (the connection's HoldWaiter). */
  private readonly dispatch: RequestDispatch = new RequestDispatch(this);
  private readonly slots: SlotPool;

  constructor(ctx: EngineContext, socket: Socket, slots: SlotPool) {
    this.ctx = ctx;
    this.slots = slots;
    this.socket = socket;
    this.remote = socket.remoteAddress ?? '';
    const call = socket as unknown as { readonly grpc?: boolean; readonly grpcDeadline?: number };
    this.grpc = call.grpc === true;
    this.callDeadline = call.grpcDeadline ?? 0;
    this.h2 = (socket as { alpnProtocol?: unknown }).alpnProtocol === 'h2';
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

  get exchange(): Exchange | undefined {
    return this.slot?.exchange;
  }

  get hold(): HoldTicket {
    return (this.slot ?? this.takeSlot()).hold;
  }

  /** The request waits in a hold queue. */
  get waiting(): boolean {
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
    this.deadlineFrom = this.ctx.clock;
    this.deadline = deadlineAt(kind, ms, this.deadlineFrom, this.callDeadline);
  }

  write(data: Buffer | string): boolean {
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  private readonly onData = (chunk: Buffer): void => this.intake.data(chunk);

  /** ClientSide: the backend connected, or sent 100 Continue: body bytes that waited now go out. */
  flushHeldBody(): void {
    this.intake.flushHeldBody();
  }

  upstreamDrained(): void {
    this.intake.upstreamDrained();
  }

  private readonly onDrain = (): void => this.exchange?.onClientDrain();

  updateReading(): void {
    this.intake.updateReading();
  }

  /** IntakeHost: a head was parsed with the body bytes that came with it. */
  requestParsed(buf: Buffer, headEnd: number, bodyEnd: number): void {
    this.reqActive = true;
    this.dispatch.start(buf, headEnd, bodyEnd);
  }

  /** ClientSide: waits for a backend again after tries that reached none (hold). */
  enterHold(svc: ServiceTable, code: ProxyErrorCode, full: boolean): boolean {
    return this.dispatch.enterHold(svc, code, full);
  }

  /** Called by the exchange when its request is over (answered, failed or cut). */
  exchangeDone(): void {
    this.requestOver();
  }

  /** DispatchHost: the request is over; the next one, or the connection closes. */
  requestOver(): void {
    if (!this.reqActive) return;
    this.reqActive = false;
    this.dispatch.over();
    if (this.closed) {
      this.giveSlot();
      return;
    }
    if (!this.keepAlive || this.ctx.closing || !this.reqBodyDone || this.clientEnded) {
      this.giveSlot();
      this.endSoon();
      return;
    }
    this.intake.upstreamFull = false;
    this.setDeadline(Deadline.IDLE, this.ctx.listenConfig.keepAliveTimeoutMs);
    if (this.intake.inbox.buf === null) this.giveSlot();
    this.intake.loop();
  }

  /** A request turnout will not forward: the status, then the connection closes. Nothing reached a backend. */
  refuse(status: number): void {
    // The HTTP/2 preface parses as version 2.0: as the first bytes, prior-knowledge h2c (SPEC "HTTP/2 and gRPC").
    if (status === 505 && this.ctx.listenConfig.http2.enabled && prefaceRead(this.intake.inbox)) return this.handOverH2();
    this.intake.inbox.clear();
    this.keepAlive = false;
    if (!this.ending && !this.closed) this.socket.write(refusal(status), 'latin1');
    this.endSoon();
  }

  private endSoon(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.socket.end();
    this.setDeadline(Deadline.CLOSING, CLOSE_GRACE_MS);
    this.intake.readToClose();
  }

  /**
   * Closes an idle keep-alive connection (shutdown); one answering a request, or receiving its head, is left alone.
   * With `graceMs`, one idle for less than that is closed once it has been: its client may be writing its next request.
   */
  closeIfIdle(graceMs = 0): void {
    if (this.reqActive || this.closed || this.deadlineKind === Deadline.HEAD) return;
    const left = this.deadlineKind === Deadline.IDLE ? idleGraceLeft(this.deadline, this.ctx.listenConfig.keepAliveTimeoutMs, this.ctx.clock, graceMs) : 0;
    if (left === 0) return this.endSoon();
    if (this.deadline > this.ctx.clock + left) this.setDeadline(Deadline.IDLE, left);
  }

  /** UpgradedConnection, before the backend's 101: both sides are simply closed. */
  close(): void {
    this.exchange?.clientGone();
    this.socket.destroy();
  }

  /** The backend accepted the upgrade: the two sockets are joined and this object steps aside. */
  startTunnel(c: UpstreamConn, up: Upstream, head101: Buffer): void {
    const socket = this.socket;
    const pending = this.detach();
    const websocket = isWebSocket(this.head);
    this.giveSlot();
    // The tunnel is counted before this request stops being: in-flight never dips to 0 between.
    new Tunnel(this.ctx, socket, c, up, websocket).open(head101, pending);
    this.dispatch.upgradeOver();
    this.ctx.connectionClosed(this);
    if (this.intake.paused) socket.resume();
  }

  /** The socket leaves the engine (a tunnel, HTTP/2); returns the bytes read and not used yet. */
  private detach(): Buffer | undefined {
    this.socket.off('data', this.onData).off('drain', this.onDrain).off('end', this.onEnd).off('close', this.onClose);
    this.closed = true;
    this.reqActive = false;
    this.setDeadline(Deadline.NONE, 0);
    return this.intake.inbox.take();
  }

  /** Prior-knowledge h2c: the bytes read go back on the socket, which the HTTP/2 side takes. */
  private handOverH2(): void {
    this.socket.pause().unshift(this.detach() as Buffer);
    this.giveSlot();
    this.ctx.connectionClosed(this);
    this.ctx.takeH2(this.socket);
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
        this.dispatch.holdOver('timed_out');
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

  private readonly onError = (): void => undefined; // 'close' follows; nothing to answer on a broken socket
  private readonly onClose = (): void => {
    this.closed = true;
    this.intake.inbox.clear();
    this.ctx.connectionClosed(this);
    if (this.waiting) this.dispatch.leaveHold('left');
    if (this.reqActive) {
      if (this.exchange !== undefined && this.exchange.active) this.exchange.clientGone();
      else this.requestOver();
    }
    this.giveSlot();
  };
}
