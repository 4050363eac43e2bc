import { constants } from 'node:http2';
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { Duplex } from 'node:stream';
import { RequestHead } from '../head.js';
import type { ParseLimits } from '../head.js';
import { findHeadEnd, parseRequestHead } from '../parser.js';
import { Dechunker, DECHUNK_ERROR } from './dechunk.js';
import { DEADLINE, DRAINED, UpstreamAnswer } from './upstream-answer.js';
import type { GrpcEnding } from './upstream-answer.js';
import { coded, fieldsObject, upstreamRequestHeaders } from './upstream-head.js';
import type { H2SessionPool, PooledSession, SessionUser } from './upstream-pool.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = constants;

/** The engine writes heads it built itself: generous limits. */
const LIMITS: ParseLimits = { maxHeaderSize: 1024 * 1024 };

const ReqBody = { NONE: 0, LENGTH: 1, CHUNKED: 2 } as const;

/** A refused stream is sent again (once, on a session with room) when its request took no more than this. */
const REPLAY_BYTES = 64 * 1024;



/**
 * One stream to an `h2` backend as the engine sees an upstream socket: the engine writes the
 * HTTP/1.1 request it rewrote (head, then the body as the client framed it) and reads an HTTP/1.1
 * answer. Here the head becomes the stream's HEADERS, the body its DATA (a chunked body decoded,
 * its trailers sent as trailers), and the backend's HEADERS/DATA/trailers come back as an
 * HTTP/1.1 answer (chunked, trailers in its last chunk). So retries, timeouts, in-flight counts,
 * hold, outlier outcomes and telemetry are the engine's own for h2 backends too.
 *
 * It "connects" when its session does. A stream the backend refused (REFUSED_STREAM, or past a
 * GOAWAY's last stream id) fails as a refused connection: nothing reached the app, so the engine
 * retries it on another backend or holds it. Backpressure both ways: a write completes when the
 * stream took its bytes (HTTP/2 flow control), and the stream is paused while the engine's read
 * side is full.
 */
export class H2UpstreamSocket extends Duplex implements SessionUser {
  /** Until its session connects. */
  private connecting = true;
  private deadline = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly pool: H2SessionPool;
  private readonly scheme: string;
  private ps: PooledSession | null;
  private stream: ClientHttp2Stream | null = null;
  private pendingHead: Buffer | null = null;
  private readonly head = new RequestHead();
  private reqBody: number = ReqBody.NONE;
  private reqRemaining = 0;
  private readonly dechunk = new Dechunker();
  private grpc = false;
  private method = 'GET';
  /** The backend's answer, translated for the engine. */
  private readonly answer = new UpstreamAnswer((buf) => this.give(buf));
  private streamError: Error | undefined;
  private reqHeaders: OutgoingHttpHeaders = {};
  /** The request's DATA so far, kept while it may be sent again (REPLAY_BYTES); null once too long. */
  private sent: Buffer[] | null = [];
  private sentBytes = 0;
  private reqEnded = false;
  private replayed = false;

  constructor(pool: H2SessionPool, scheme: string) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.pool = pool;
    this.scheme = scheme;
    this.ps = pool.take(this);
  }

  /** What the engine calls on a net.Socket that means nothing here. */
  setNoDelay(): this {
    return this;
  }
  /** performance.now() ms the client's gRPC deadline (grpc-timeout) ends; 0 = none. */
  get callDeadline(): number {
    return this.deadline;
  }

  /**
   * Set by the exchange for a gRPC call with a grpc-timeout: the time left is what the backend is
   * told, and when it runs out the call ends with DEADLINE_EXCEEDED (SPEC "HTTP/2 and gRPC").
   */
  set callDeadline(at: number) {
    this.deadline = at;
    this.grpc = true;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(this.onDeadline, Math.max(0, at - performance.now()));
    this.deadlineTimer.unref();
  }

  private readonly onDeadline = (): void => this.endCall(DEADLINE);

  /** The answer's grpc-status, -1 when none came (yet). */
  get grpcStatus(): number {
    return this.answer.grpcStatus;
  }

  sessionReady(): void {
    if (this.destroyed || !this.connecting) return;
    this.connecting = false;
    this.emit('connect');
  }

  sessionFailed(err: Error): void {
    if (!this.destroyed) this.destroy(err);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.stream === null) {
      const data = this.pendingHead === null ? chunk : Buffer.concat([this.pendingHead, chunk]);
      const end = findHeadEnd(data, 0, data.length);
      if (end < 0) {
        this.pendingHead = data;
        return cb();
      }
      this.pendingHead = null;
      if (!this.open(data, end)) return cb();
      return this.body(data, end, cb);
    }
    this.body(chunk, 0, cb);
  }

  /** Opens the stream for the request head in `data[0..end)`; false when it could not be. */
  private open(data: Buffer, end: number): boolean {
    const head = this.head;
    if (parseRequestHead(data, 0, end, LIMITS, head) <= 0 || head.upgrade) {
      this.destroy(coded('the request cannot go to an HTTP/2 backend', 'ERR_TURNOUT_H2_REQUEST'));
      return false;
    }
    this.method = head.method;
    this.reqBody = head.chunked ? ReqBody.CHUNKED : head.contentLength > 0 ? ReqBody.LENGTH : ReqBody.NONE;
    this.reqRemaining = head.contentLength;
    const req = upstreamRequestHeaders(head, this.scheme, this.callDeadline, performance.now());
    this.grpc ||= req.grpc;
    this.reqHeaders = req.headers;
    this.reqEnded = this.reqBody === ReqBody.NONE;
    head.release();
    if (this.reqBody === ReqBody.CHUNKED) this.dechunk.reset();
    return this.issue();
  }

  /** Sends the request's HEADERS on its session; false when the session cannot take it. */
  private issue(): boolean {
    const ps = this.ps;
    let stream: ClientHttp2Stream;
    try {
      if (ps === null || !ps.open) throw coded('the session is closing', 'ECONNREFUSED');
      stream = ps.session.request(this.reqHeaders, { endStream: this.reqBody === ReqBody.NONE, waitForTrailers: this.reqBody === ReqBody.CHUNKED });
    } catch (err) {
      // A session that is going away: nothing reached the backend.
      this.destroy(coded((err as Error).message, 'ECONNREFUSED'));
      return false;
    }
    this.stream = stream;
    stream.on('response', this.onResponse);
    stream.on('headers', this.onInformational);
    stream.on('data', this.onData);
    stream.on('trailers', this.onTrailers);
    stream.on('end', this.onEnd);
    stream.on('wantTrailers', this.onWantTrailers);
    stream.on('error', this.onStreamError);
    stream.on('close', this.onStreamClose);
    return true;
  }

  /** Request body bytes `data[start..)`: sent as DATA; `cb` once the stream took them. */
  private body(data: Buffer, start: number, cb: (err?: Error | null) => void): void {
    const stream = this.stream;
    if (stream === null || stream.destroyed || start >= data.length || this.reqBody === ReqBody.NONE) return cb();
    if (this.reqBody === ReqBody.LENGTH) {
      const take = Math.min(this.reqRemaining, data.length - start);
      this.reqRemaining -= take;
      const piece = start === 0 && take === data.length ? data : data.subarray(start, start + take);
      this.keep(piece);
      if (this.reqRemaining === 0) {
        this.reqEnded = true;
        stream.end(piece, () => cb());
      } else stream.write(piece, () => cb());
      return;
    }
    const pieces: Buffer[] = [];
    const stop = this.dechunk.feed(data, start, data.length, (buf, s, e) => {
      if (e > s) pieces.push(buf.subarray(s, e));
    });
    if (stop === DECHUNK_ERROR) {
      this.destroy(coded('a malformed chunked body', 'ERR_TURNOUT_H2_REQUEST'));
      return cb();
    }
    const n = pieces.length;
    for (const p of pieces) this.keep(p);
    for (let i = 0; i < n - 1; i++) stream.write(pieces[i]);
    if (this.dechunk.done) {
      this.reqEnded = true;
      stream.end(n > 0 ? pieces[n - 1] : undefined, () => cb());
      return;
    }
    if (n > 0) stream.write(pieces[n - 1], () => cb());
    else cb();
  }

  /** Keeps a copy of DATA sent while the request may still be sent again. */
  private keep(piece: Buffer): void {
    if (this.sent === null) return;
    this.sentBytes += piece.length;
    if (this.sentBytes > REPLAY_BYTES || this.answer.answered) this.sent = null;
    else this.sent.push(piece);
  }

  /**
   * The backend refused the stream before processing it (REFUSED_STREAM, or past its GOAWAY's
   * last stream id): sent once more on a session with room (a new one when the old is going away).
   */
  private replay(): boolean {
    const sent = this.sent;
    if (sent === null || this.replayed || this.ps === null) return false;
    this.replayed = true;
    const old = this.stream as ClientHttp2Stream;
    old.removeAllListeners('close');
    this.pool.release(this.ps, this);
    this.ps = this.pool.take(this);
    if (!this.issue()) return true;
    const stream = this.stream as ClientHttp2Stream;
    if (this.reqBody === ReqBody.NONE) return true;
    for (const p of sent) stream.write(p);
    if (this.reqEnded) stream.end();
    return true;
  }

  /** The request's trailers (none: node sends an empty DATA frame with END_STREAM). */
  private readonly onWantTrailers = (): void => (this.stream as ClientHttp2Stream).sendTrailers(fieldsObject(this.dechunk.trailers));

  private readonly onInformational = (headers: IncomingHttpHeaders, _flags: number, raw: string[]): void => this.answer.informational(headers, raw);
  private readonly onResponse = (_headers: IncomingHttpHeaders, flags: number, raw: string[]): void => this.answer.response(flags, raw, this.method);
  private readonly onTrailers = (_headers: IncomingHttpHeaders, _flags: number, raw: string[]): void => this.answer.trailersCame(raw);
  private readonly onEnd = (): void => this.answer.end();

  private readonly onData = (chunk: Buffer): void => {
    if (!this.answer.data(chunk)) this.stream?.pause();
  };

  private readonly onStreamError = (err: Error): void => {
    this.streamError = err;
  };

  /** The stream closed: after a whole answer nothing happens (the engine lets go of this socket); before, it failed. */
  private readonly onStreamClose = (): void => {
    const stream = this.stream as ClientHttp2Stream;
    if (this.answer.done || this.destroyed) return;
    if (!this.answer.answered && stream.rstCode === NGHTTP2_REFUSED_STREAM) {
      if (this.replay()) return;
      this.destroy(coded('the backend refused the stream', 'ECONNREFUSED'));
      return;
    }
    this.destroy(coded(this.streamError?.message ?? 'the backend reset the stream', 'ECONNRESET'));
  };

  /** Bytes for the engine; false when its read side is full. */
  private give(buf: Buffer): boolean {
    if (this.destroyed) return false;
    return this.push(buf);
  }

  override _read(): void {
    const s = this.stream;
    if (s !== null && s.isPaused()) s.resume();
  }

  /**
   * The drain deadline: a gRPC call ends with grpc-status 14 UNAVAILABLE (in trailers, or
   * trailers-only if no answer began), so its client retries; any other stream is cancelled.
   */
  drainCut(): void {
    this.endCall(DRAINED);
  }

  /** turnout ends the call: a gRPC one with `e`'s status, any other cancelled. */
  private endCall(e: GrpcEnding): void {
    if (this.destroyed || this.answer.done) return;
    const stream = this.stream;
    const ended = this.grpc && this.answer.endWith(e);
    if (stream !== null && !stream.closed) stream.close(NGHTTP2_CANCEL);
    else if (!ended) this.destroy(coded('drained', 'ECONNRESET'));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.deadlineTimer);
    const s = this.stream;
    if (s !== null && !s.closed && !s.destroyed) s.close(NGHTTP2_CANCEL);
    if (this.ps !== null) {
      this.pool.release(this.ps, this);
      this.ps = null;
    }
    cb(err);
  }
}
