import type { ServerHttp2Stream } from 'node:http2';
import { isGrpc, parseGrpcTimeout } from '../grpc.js';
import type { ResponseHead } from '../head.js';
import { BodyForm, chunkSizeLine, CRLF, lastChunk, translateRequestHead } from './request-head.js';
import { StreamAnswer } from './stream-answer.js';

type DataHandler = (chunk: Buffer) => void;
type Handler = () => void;

/**
 * One HTTP/2 stream as the engine sees a client connection: the socket calls ClientConnection
 * makes (on/off, write, end, destroy, pause/resume, writableLength), no Duplex behind them. The
 * stream's request goes in as an HTTP/1.1 request (head, body chunked when it has no length), and
 * what the engine writes back is read as an HTTP/1.1 answer and sent on the stream as HEADERS and
 * DATA. The engine's ClientConnection runs over it unchanged, so routing, split, sticky, header
 * override, retries, hold, limits, error answers, telemetry and draining are the HTTP/1.1 path's
 * own code.
 *
 * Backpressure both ways: the stream is paused while the engine pauses its client (so HTTP/2 flow
 * control stops the client), and a write returns false while the stream's buffer is full, 'drain'
 * following (so the engine pauses the backend while the client is slow).
 */
export class StreamSocket {
  readonly remoteAddress: string | undefined;
  /** As a TLS socket says it: the access log's `protocol`. */
  readonly alpnProtocol = 'h2';
  /** The request is a gRPC call (content-type application/grpc*): its errors are gRPC-shaped. */
  readonly grpc: boolean;
  /** performance.now() ms its grpc-timeout ends; 0 = none. */
  readonly grpcDeadline: number;
  /** The engine let go of this connection (or the stream closed). */
  destroyed = false;
  private readonly stream: ServerHttp2Stream;
  private readonly answer: StreamAnswer;
  private readonly chunked: boolean;
  /** The request has no body (END_STREAM with its headers). */
  private readonly bodyless: boolean;
  /** The request head, until start() hands it to the engine. */
  private head: Buffer | undefined;
  private trailers: string[] | undefined;
  /** The engine's listeners (one each: a ClientConnection's). */
  private onDataH: DataHandler | undefined;
  private onDrainH: Handler | undefined;
  private onEndH: Handler | undefined;
  private onCloseH: Handler | undefined;
  /** The client sent END_STREAM (its whole request). */
  private clientEnded = false;
  private ended = false;
  /** In the engine's 'end' handler (emitEnd). */
  private inEnd = false;

  constructor(stream: ServerHttp2Stream, rawHeaders: readonly string[], endStream: boolean) {
    this.stream = stream;
    this.remoteAddress = remoteOf(stream);
    const t = translateRequestHead(rawHeaders, endStream);
    this.chunked = t.body === BodyForm.CHUNKED;
    this.bodyless = t.body === BodyForm.NONE;
    this.head = t.head;
    this.answer = new StreamAnswer(stream, t.method);
    this.grpc = isGrpc(t.contentType);
    const timeout = this.grpc ? parseGrpcTimeout(t.grpcTimeout) : undefined;
    this.grpcDeadline = timeout === undefined ? 0 : performance.now() + Math.max(timeout, 1);
    stream.on('close', this.onStreamClose);
    stream.on('error', this.onStreamError);
  }

  /** Hands the request head to the engine (its listeners are set), then the stream's body as it comes. */
  start(): void {
    const head = this.head;
    this.head = undefined;
    if (head === undefined || this.destroyed) return;
    this.onDataH?.(head);
    const s = this.stream;
    if (this.destroyed || s.destroyed) return;
    if (this.bodyless) {
      // END_STREAM came with the headers: nothing to read. The stream's readable side is left
      // unread, so when the stream closes node:http2 destroys it only a tick after its last
      // write completed: destroyed with a write pending, node makes an ERR_STREAM_DESTROYED (a
      // stack trace) per stream, a tenth of a 1 KiB answer's CPU.
      this.clientEnded = true;
      s.on('drain', this.onStreamDrain);
      return;
    }
    s.on('data', this.onStreamData);
    s.on('end', this.onStreamEnd);
    s.on('trailers', this.onStreamTrailers);
    s.on('drain', this.onStreamDrain);
  }

  on(event: string, fn: (...args: never[]) => void): this {
    if (event === 'data') this.onDataH = fn as DataHandler;
    else if (event === 'drain') this.onDrainH = fn as Handler;
    else if (event === 'end') this.onEndH = fn as Handler;
    else if (event === 'close') this.onCloseH = fn as Handler;
    // 'error': never emitted (a stream error closes the stream, which 'close' says).
    return this;
  }

  off(event: string, _fn: unknown): this {
    if (event === 'data') this.onDataH = undefined;
    else if (event === 'drain') this.onDrainH = undefined;
    else if (event === 'end') this.onEndH = undefined;
    else if (event === 'close') this.onCloseH = undefined;
    return this;
  }

  /** What the engine calls on a net.Socket that means nothing here. */
  setNoDelay(): this {
    return this;
  }

  cork(): void {
    // Every write goes to nghttp2, which frames what is queued when it sends.
  }

  uncork(): void {
    // As cork().
  }

  get writableNeedDrain(): boolean {
    return this.answer.needDrain;
  }

  /** RelaySink: bytes of a backend's read buffer the stream still holds. */
  get writableLength(): number {
    return this.answer.writableLength;
  }

  pause(): this {
    this.stream.pause();
    return this;
  }

  resume(): this {
    if (this.stream.isPaused()) this.stream.resume();
    return this;
  }

  private readonly onStreamData = (chunk: Buffer): void => {
    if (this.destroyed) return;
    if (!this.chunked) return this.onDataH?.(chunk);
    // One buffer per DATA frame (size line, bytes, CRLF): one write to the backend, not three.
    const line = chunkSizeLine(chunk.length);
    const out = Buffer.allocUnsafe(line.length + chunk.length + 2);
    line.copy(out, 0);
    chunk.copy(out, line.length);
    CRLF.copy(out, line.length + chunk.length);
    this.onDataH?.(out);
  };

  private readonly onStreamTrailers = (_headers: unknown, _flags: number, raw: string[]): void => {
    this.trailers = raw;
  };

  private readonly onStreamEnd = (): void => {
    this.clientEnded = true;
    if (this.chunked && !this.destroyed) this.onDataH?.(lastChunk(this.trailers));
  };

  private readonly onStreamError = (): void => {
    // 'close' follows.
  };

  /** The stream closed (answered, reset by the client, or its session went): the engine's connection closes. */
  private readonly onStreamClose = (): void => {
    this.destroy();
  };

  private readonly onStreamDrain = (): void => {
    if (!this.answer.needDrain) return;
    this.answer.needDrain = false;
    this.onDrainH?.();
  };

  /** Bytes of the engine's HTTP/1.1 answer; false when the stream's buffer is full ('drain' follows). */
  write(data: Buffer | string, _enc?: BufferEncoding): boolean {
    // Nothing goes out after the engine let go ('close' follows); not a full buffer either.
    if (this.destroyed || this.ended) return true;
    return this.answer.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /**
   * FieldsSink (answer-relay.ts): the engine's parsed answer head goes on the stream as fields,
   * never serialised to an HTTP/1.1 head and read back; `data[start..end)` are its first body bytes.
   */
  answerHead(resp: ResponseHead, extraLines: string, data: Buffer, start: number, end: number): boolean {
    if (this.destroyed || this.ended) return true;
    return this.answer.head(resp, extraLines, data, start, end);
  }

  /** The engine ended the connection: the answer is over (one that ran until close ends here). */
  end(): this {
    if (this.ended || this.destroyed) return this;
    this.ended = true;
    this.answer.finish();
    // The engine sees its client "close" and lets go of this connection (a tick later, as a socket's 'end').
    process.nextTick(this.emitEnd);
    return this;
  }

  private readonly emitEnd = (): void => {
    if (this.destroyed) return;
    // The engine destroys its connection when it sees this 'end': its 'close' then comes right
    // after the handler returns, not a tick later (one tick per stream, not two).
    this.inEnd = true;
    this.onEndH?.();
    this.inEnd = false;
    if (this.destroyed) this.onCloseH?.();
  };

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.answer.close(this.clientEnded);
    if (!this.inEnd) process.nextTick(this.emitClose);
    return this;
  }

  private readonly emitClose = (): void => {
    this.onCloseH?.();
  };
}

/** Each session's client address, read once (session.socket is a Proxy: a trap and a getter per read). */
const remotes = new WeakMap<object, string | undefined>();

function remoteOf(stream: ServerHttp2Stream): string | undefined {
  const session = stream.session;
  if (session === undefined) return undefined;
  let r = remotes.get(session);
  if (r === undefined && !remotes.has(session)) {
    r = session.socket?.remoteAddress;
    remotes.set(session, r);
  }
  return r;
}
