import type { Socket } from 'node:net';
import { Deadline } from './client-side.js';
import type { EngineContext } from './context.js';
import type { Exchange } from './exchange.js';
import { FRAMING_ERROR } from './framing.js';
import type { BodyTracker } from './framing.js';
import { errorStatus } from './head.js';
import type { RequestHead } from './head.js';
import { HEAD_TOO_LARGE, Inbox } from './inbox.js';
import { parseRequestHead } from './parser.js';
import { requestFraming } from './request-facts.js';

/** Pipelined bytes read ahead while a request is answered; past this the client is paused. */
const MAX_READ_AHEAD = 64 * 1024;

/**
 * What the intake needs from its client connection. The ClientConnection implements it; this file
 * does not import the connection.
 */
export interface IntakeHost {
  readonly ctx: EngineContext;
  readonly socket: Socket;
  readonly head: RequestHead;
  readonly reqBody: BodyTracker;
  readonly exchange: Exchange | undefined;
  /** The request waits in a hold queue. */
  readonly waiting: boolean;
  /** A request is being answered. */
  readonly reqActive: boolean;
  /** The connection is closing: nothing more is read. */
  readonly ending: boolean;
  readonly closed: boolean;
  readonly deadlineKind: number;
  reqBodyDone: boolean;
  bodyStreamed: boolean;
  setDeadline(kind: number, ms: number): void;
  refuse(status: number): void;
  /** A head was parsed and `buf[headEnd..bodyEnd)` are the body bytes that came with it: the request starts. */
  requestParsed(buf: Buffer, headEnd: number, bodyEnd: number): void;
}

/**
 * The reading side of a client connection: the bytes read and not used yet, the parse of the next
 * head, the request body sent on to the backend, and reading paused or resumed so bytes are read
 * only when they have somewhere to go. One per connection; methods, not closures.
 */
export class ClientIntake {
  /** Bytes read and not used yet: a partial head, pipelined requests, body bytes that wait. */
  readonly inbox = new Inbox();
  /** The backend's socket is full: the client is not read until it drains. */
  upstreamFull = false;
  /** The client's socket is paused. */
  paused = false;
  private inLoop = false;
  private readonly host: IntakeHost;

  constructor(host: IntakeHost) {
    this.host = host;
  }

  /** Bytes from the client. */
  data(chunk: Buffer): void {
    const host = this.host;
    // Every client read is a fresh Buffer (Node reads accepted sockets into its own): garbage to
    // count, wherever its bytes go (a body that came with its head included).
    host.ctx.reclaimer.add(chunk.length);
    if (host.ending || host.closed) return;
    // Body bytes go straight to the backend once it can take them; until then (connecting, or
    // waiting for 100 Continue) they wait here, so a refused connect can still be retried.
    if (host.reqActive && !host.reqBodyDone && this.inbox.buf === null && host.exchange?.canSendBody === true) {
      this.bodyBytes(chunk, 0);
      return;
    }
    this.inbox.append(chunk);
    if (!host.reqActive) this.loop();
    else this.updateReading();
  }

  private bodyBytes(chunk: Buffer, start: number): void {
    const host = this.host;
    const stop = host.reqBody.feed(chunk, start, chunk.length);
    if (stop === FRAMING_ERROR) {
      host.exchange?.clientBodyFailed();
      return;
    }
    const end = stop >= 0 ? stop : chunk.length;
    if (end > start && host.exchange !== undefined) {
      host.bodyStreamed = true;
      if (!host.exchange.sendBody(chunk, start, end)) this.upstreamFull = true;
    }
    if (stop >= 0) {
      host.reqBodyDone = true;
      host.exchange?.bodyDone();
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
    if (buf !== null && this.host.reqActive && !this.host.reqBodyDone) {
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

  /** Reads from the client only when the bytes have somewhere to go (backpressure both ways). */
  updateReading(): void {
    const host = this.host;
    let want = true;
    if (host.reqActive && !host.ending) {
      if (!host.reqBodyDone) {
        want = !this.upstreamFull && host.exchange !== undefined && host.exchange.canSendBody;
        // Waiting for a backend: body bytes gather here (a client that leaves is seen).
        if (!want && host.waiting) want = this.inbox.size < MAX_READ_AHEAD;
      }
      else want = this.inbox.size < MAX_READ_AHEAD;
    }
    if (want === !this.paused) return;
    this.paused = !want;
    if (want) host.socket.resume();
    else host.socket.pause();
  }

  /** Starts the requests whose heads are in the inbox, one at a time (pipelining in order). */
  loop(): void {
    if (this.inLoop) return;
    this.inLoop = true;
    const host = this.host;
    while (!host.reqActive && !host.closed && !host.ending && this.inbox.buf !== null) {
      if (!this.next()) break;
    }
    this.inLoop = false;
    if (!host.closed) this.updateReading();
  }

  /** Parses the next head from the inbox and starts its request; false when more bytes are needed. */
  private next(): boolean {
    const host = this.host;
    const inbox = this.inbox;
    if (!inbox.skipEmptyLines()) return false;
    if (host.deadlineKind === Deadline.IDLE) host.setDeadline(Deadline.HEAD, host.ctx.listenConfig.headersTimeoutMs);
    const at = inbox.findHead(host.ctx.limits.maxHeaderSize);
    if (at < 0) {
      if (at === HEAD_TOO_LARGE) host.refuse(431);
      return false;
    }
    const buf = inbox.buf as Buffer;
    const r = parseRequestHead(buf, inbox.start, at, host.ctx.limits, host.head);
    if (r <= 0) {
      host.refuse(r === 0 ? 400 : errorStatus(r));
      return false;
    }
    this.begin(buf, at);
    return true;
  }

  private begin(buf: Buffer, headEnd: number): void {
    const host = this.host;
    const head = host.head;
    const body = host.reqBody;
    body.reset(requestFraming(head), head.contentLength);
    let bodyEnd = headEnd;
    if (!body.done) {
      const stop = body.feed(buf, headEnd, buf.length);
      // A malformed chunk in the bytes at hand: refused before anything reaches a backend.
      if (stop === FRAMING_ERROR) return host.refuse(400);
      bodyEnd = stop >= 0 ? stop : buf.length;
    }
    host.reqBodyDone = body.done;
    host.bodyStreamed = false;
    this.inbox.consumed(buf, bodyEnd);
    host.requestParsed(buf, headEnd, bodyEnd);
  }

  /** The connection ends: what was read is dropped, and reading goes on (dropping) so the client's close is seen. */
  readToClose(): void {
    this.inbox.clear();
    if (this.paused) {
      this.paused = false;
      this.host.socket.resume();
    }
  }
}
