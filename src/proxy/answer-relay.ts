import type { UpstreamFailure } from '../errors.js';
import { AnswerFraming, answerFraming } from './answer-framing.js';
import { Deadline } from './client-side.js';
import type { ClientSide } from './client-side.js';
import { BodyTracker, FRAMING_ERROR } from './framing.js';
import { ResponseHead } from './head.js';
import { writeAnswer } from './head-write.js';
import { findHeadEnd, parseResponseHead } from './parser.js';
import { buildResponseHead } from './rewrite.js';
import type { ServiceTable } from './table.js';
import type { UpstreamConn } from './upstream.js';

/** `Connection: keep-alive`, as nginx sends it (no Keep-Alive line: the head stays no longer than a Node backend's). */
const KEEP_ALIVE_LINE = 'connection: keep-alive\r\n';

/** A backend's answer head may take this many bytes; more is a 502. */
const MAX_RESPONSE_HEAD = 64 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * A client socket that takes an answer's final head as the parsed fields, not as bytes (an HTTP/2
 * stream's, src/proxy/h2): `extraLines` are the lines turnout adds (sticky Set-Cookie), then
 * `data[start..end)` the first body bytes, framed as `resp` says; false when it is full.
 */
export interface FieldsSink {
  answerHead(resp: ResponseHead, extraLines: string, data: Buffer, start: number, end: number): boolean;
}

/**
 * What the relay needs from the exchange it works for. The Exchange implements it; this file does
 * not import the exchange.
 */
export interface AnswerOwner {
  readonly conn: ClientSide;
  /** The backend's socket of this attempt, or null once it is let go. */
  readonly uconn: UpstreamConn | null;
  readonly svc: ServiceTable;
  /** The request asked for an Upgrade: only then is a 101 accepted. */
  readonly upgrade: boolean;
  /** Expect: 100-continue and the backend has not asked for the body yet. */
  readonly holdBody: boolean;
  /** The Set-Cookie line of a sticky service, or ''. */
  readonly sticky: string;
  /** The status the request ends with (access log, metrics). */
  status: number;
  /** The backend sent 100: the held body goes out. */
  releaseHold(): void;
  /** The answer was not HTTP, before anything reached the client: 502. */
  protocolError(): void;
  /** The answer broke after bytes reached the client. */
  cut(reason: UpstreamFailure): void;
  /** The whole answer reached the client. */
  responseDone(): void;
  /** The backend answered 101: `data[end..)` are the first tunnelled bytes. */
  startTunnel(data: Buffer, end: number): void;
}

/**
 * The answer side of an exchange: reads the backend's answer head (relaying 1xx), decides its
 * framing, writes it to the client with its first body bytes, then relays the body with
 * backpressure until the framing says it is over. One per exchange, reused for every answer.
 */
export class AnswerRelay {
  readonly resp = new ResponseHead();
  readonly body = new BodyTracker();
  readonly framing = new AnswerFraming();
  /** The final answer's head arrived: bytes now are body. */
  headDone = false;
  /** The start of an answer head still incomplete, or null. */
  pending: Buffer | null = null;
  /** The answer's head went to the client: a failure now can only cut the connection. */
  started = false;
  /** The backend's socket is paused until the client's drains. */
  paused = false;
  private readonly owner: AnswerOwner;

  constructor(owner: AnswerOwner) {
    this.owner = owner;
  }

  /** A new attempt on a backend: no byte of an answer yet. */
  reset(): void {
    this.headDone = false;
    this.pending = null;
    this.paused = false;
  }

  /** Drops the reference to the backend's receive buffer once the request is over. */
  release(): void {
    this.resp.buf = EMPTY;
  }

  onData(chunk: Buffer): void {
    if (this.headDone) this.onBodyBytes(chunk);
    else this.onHeadBytes(chunk);
  }

  /** The client's socket drained: the backend may send again. */
  onClientDrain(): void {
    const c = this.owner.uconn;
    if (c === null || !this.paused) return;
    this.paused = false;
    c.socket.resume();
    this.owner.conn.setDeadline(Deadline.RESPONSE, this.owner.svc.settings.responseTimeoutMs);
  }

  private onHeadBytes(chunk: Buffer): void {
    const owner = this.owner;
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    let start = 0;
    for (;;) {
      const end = findHeadEnd(data, start, data.length);
      if (end < 0) {
        if (data.length - start > MAX_RESPONSE_HEAD) return owner.protocolError();
        // A head that spans reads outlives this one: `chunk` is the backend socket's read buffer,
        // reused by the next read, so the bytes are copied (a concatenation already is a copy).
        this.pending = data === chunk ? Buffer.from(chunk.subarray(start)) : start === 0 ? data : data.subarray(start);
        return;
      }
      if (parseResponseHead(data, start, end, this.resp) <= 0) return owner.protocolError();
      const status = this.resp.status;
      if (status >= 200) {
        this.headDone = true;
        this.pending = null;
        return this.startResponse(data, end);
      }
      if (status === 101) {
        if (!owner.upgrade) return owner.protocolError();
        return owner.startTunnel(data, end);
      }
      // 1xx: 100 releases a held body; every 1xx is relayed to HTTP/1.1 clients (RFC 9110 §15.2).
      if (status === 100 && owner.holdBody) owner.releaseHold();
      if (owner.conn.head.version === 11) owner.conn.write(buildResponseHead(this.resp, '', false, false, undefined, 0, 0));
      start = end;
      if (start === data.length) {
        this.pending = null;
        return;
      }
    }
  }

  private startResponse(data: Buffer, end: number): void {
    const owner = this.owner;
    const conn = owner.conn;
    const head = conn.head;
    const resp = this.resp;
    const f = this.framing;
    owner.status = resp.status;
    answerFraming(f, head.method, head.version, resp, conn.keepAlive && !conn.ctx.closing && conn.reqBodyDone && !owner.holdBody && !owner.upgrade);
    conn.keepAlive = f.keepAlive;
    let tail = owner.sticky;
    tail += f.keepAlive ? KEEP_ALIVE_LINE : 'connection: close\r\n';
    const body = this.body;
    body.reset(f.mode, resp.contentLength);
    this.started = true;
    if (f.dechunk) {
      conn.write(buildResponseHead(resp, tail, true, false, undefined, 0, 0));
      body.sink = this.sinkToClient;
      this.relayed(body.feed(data, end, data.length), data.length, true);
      return;
    }
    const stop = body.feed(data, end, data.length);
    if (stop === FRAMING_ERROR) {
      this.started = false;
      return owner.protocolError();
    }
    // An HTTP/2 stream takes the parsed head as fields: no HTTP/1.1 head is built for it to read back.
    const fields = conn.socket as unknown as Partial<FieldsSink>;
    if (fields.answerHead !== undefined) return this.relayed(stop, data.length, fields.answerHead(resp, owner.sticky, data, end, stop >= 0 ? stop : data.length));
    const newHead = buildResponseHead(resp, tail, false, false, undefined, 0, 0);
    const ok = writeAnswer(conn.socket, resp, newHead, data, end, stop >= 0 ? stop : data.length);
    this.relayed(stop, data.length, ok);
  }

  private readonly sinkToClient = (buf: Buffer, start: number, end: number): void => {
    if (end > start) this.owner.conn.write(buf.subarray(start, end));
  };

  private onBodyBytes(chunk: Buffer): void {
    // No reclaimer count: `chunk` is the upstream connection's own read buffer, reused, not garbage
    // (UpstreamConn reports the buffers it leaves behind).
    const conn = this.owner.conn;
    const stop = this.body.feed(chunk, 0, chunk.length);
    if (stop === FRAMING_ERROR) return this.owner.cut('error');
    let ok: boolean;
    if (this.framing.dechunk) ok = !conn.socket.writableNeedDrain;
    else ok = conn.write(stop >= 0 && stop < chunk.length ? chunk.subarray(0, stop) : chunk);
    this.relayed(stop, chunk.length, ok);
  }

  /** After relaying a piece of the answer: done, or wait for more (pausing the backend when the client is full). */
  private relayed(stop: number, length: number, ok: boolean): void {
    const owner = this.owner;
    if (stop === FRAMING_ERROR) return owner.cut('error');
    if (stop >= 0) {
      // Bytes after the end of the answer: the backend broke its framing; do not reuse the socket.
      if (stop < length) this.framing.reusable = false;
      return owner.responseDone();
    }
    const c = owner.uconn;
    if (!ok && c !== null) {
      this.paused = true;
      c.socket.pause();
      owner.conn.setDeadline(Deadline.NONE, 0); // the client's time, not the backend's
    } else {
      owner.conn.setDeadline(Deadline.RESPONSE, owner.svc.settings.responseTimeoutMs);
    }
  }
}
