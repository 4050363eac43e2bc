import { constants } from 'node:http2';
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Duplex } from 'node:stream';
import { isGrpc, parseGrpcTimeout } from '../grpc.js';
import { AnswerReader } from './answer-reader.js';
import type { AnswerHeads } from './answer-reader.js';
import { BodyForm, chunkSizeLine, CRLF, lastChunk, translateRequestHead } from './request-head.js';
import { fieldsObject } from './upstream-head.js';

const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL } = constants;

/**
 * One HTTP/2 stream as the engine sees a client connection: the stream's request goes in as an
 * HTTP/1.1 request (head, body chunked when it has no length), and what the engine writes back is
 * read as an HTTP/1.1 answer and sent on the stream as HEADERS and DATA. The engine's
 * ClientConnection runs over it unchanged, so routing, split, sticky, header override, retries,
 * hold, limits, error answers, telemetry and draining are the HTTP/1.1 path's own code.
 *
 * Backpressure both ways: the stream is paused while the engine's read buffer is full (so HTTP/2
 * flow control stops the client), and a write from the engine completes only once the stream has
 * taken its bytes (so the engine pauses the backend while the client is slow).
 */
export class StreamSocket extends Duplex implements AnswerHeads {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** As a TLS socket says it: the access log's `protocol`. */
  readonly alpnProtocol = 'h2';
  /** The request is a gRPC call (content-type application/grpc*): its errors are gRPC-shaped. */
  readonly grpc: boolean;
  /** performance.now() ms its grpc-timeout ends; 0 = none. */
  readonly grpcDeadline: number;
  private readonly stream: ServerHttp2Stream;
  private readonly reader: AnswerReader = new AnswerReader(this);
  private readonly chunked: boolean;
  private trailers: string[] | undefined;
  /** The client sent END_STREAM (its whole request). */
  private clientEnded = false;
  /** The answer's trailers are still to be sent (after its last DATA frame). */
  private trailersWait = false;
  /** Our side of the stream ended (the whole answer went). */
  private answerEnded = false;

  constructor(stream: ServerHttp2Stream, rawHeaders: readonly string[], endStream: boolean) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.stream = stream;
    const sock = stream.session?.socket;
    this.remoteAddress = sock?.remoteAddress;
    this.remotePort = sock?.remotePort;
    const t = translateRequestHead(rawHeaders, endStream);
    this.chunked = t.body === BodyForm.CHUNKED;
    this.reader.method = methodOf(rawHeaders);
    this.grpc = isGrpc(valueOf(rawHeaders, 'content-type'));
    const timeout = this.grpc ? parseGrpcTimeout(valueOf(rawHeaders, 'grpc-timeout')) : undefined;
    this.grpcDeadline = timeout === undefined ? 0 : performance.now() + Math.max(timeout, 1);
    this.push(t.head);
    stream.on('data', this.onStreamData);
    stream.on('end', this.onStreamEnd);
    stream.on('trailers', this.onStreamTrailers);
    stream.on('close', this.onStreamClose);
    stream.on('error', this.onStreamError);
  }

  /** What the engine calls on a net.Socket that means nothing here. */
  setNoDelay(): this {
    return this;
  }

  override _read(): void {
    if (this.stream.isPaused()) this.stream.resume();
  }

  private readonly onStreamData = (chunk: Buffer): void => {
    let ok: boolean;
    if (this.chunked) {
      this.push(chunkSizeLine(chunk.length));
      this.push(chunk);
      ok = this.push(CRLF);
    } else {
      ok = this.push(chunk);
    }
    if (!ok) this.stream.pause();
  };

  private readonly onStreamTrailers = (_headers: unknown, _flags: number, raw: string[]): void => {
    this.trailers = raw;
  };

  private readonly onStreamEnd = (): void => {
    this.clientEnded = true;
    if (this.chunked) this.push(lastChunk(this.trailers));
  };

  private readonly onStreamError = (): void => {
    // 'close' follows.
  };

  /** The stream closed (answered, reset by the client, or its session went): the engine's connection closes. */
  private readonly onStreamClose = (): void => {
    if (!this.destroyed) this.destroy();
  };

  informational(headers: OutgoingHttpHeaders): void {
    const s = this.stream;
    if (!s.destroyed && !s.headersSent) s.additionalHeaders(headers);
  }

  final(headers: OutgoingHttpHeaders, bodyless: boolean, trailers: boolean): void {
    const s = this.stream;
    if (s.destroyed || s.headersSent) return;
    if (trailers && !bodyless) {
      this.trailersWait = true;
      s.respond(headers, { waitForTrailers: true });
      s.once('wantTrailers', this.onWantTrailers);
    } else {
      s.respond(headers, { endStream: bodyless });
    }
    if (bodyless) this.answerEnded = true;
  }

  /** The answer's trailer section goes as the stream's trailing HEADERS (none: an empty END_STREAM DATA frame). */
  private readonly onWantTrailers = (): void => {
    this.trailersWait = false;
    if (!this.stream.destroyed) this.stream.sendTrailers(fieldsObject(this.reader.trailers));
  };

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const s = this.stream;
    if (!this.reader.feed(chunk)) {
      // Not an answer: cannot happen with the engine's own heads; the stream is reset.
      if (!s.destroyed) s.close(NGHTTP2_INTERNAL_ERROR);
      return cb();
    }
    const pieces = this.reader.pieces;
    const n = pieces.length;
    if (s.destroyed || this.answerEnded || !s.headersSent) {
      this.endIfDone();
      return cb();
    }
    for (let i = 0; i < n - 1; i++) s.write(pieces[i]);
    if (n > 0) s.write(pieces[n - 1], () => cb());
    this.endIfDone();
    if (n === 0) cb();
  }

  private endIfDone(): void {
    if (!this.reader.done || this.answerEnded) return;
    this.answerEnded = true;
    if (!this.stream.destroyed) this.stream.end();
  }

  /** The engine ended the connection: the answer is over (one that ran until close ends here). */
  override _final(cb: (err?: Error | null) => void): void {
    const s = this.stream;
    if (!this.answerEnded && !s.destroyed) {
      if (!s.headersSent) s.close(NGHTTP2_INTERNAL_ERROR);
      else if (this.reader.done || this.reader.headDone) s.end();
      this.answerEnded = true;
    }
    // The engine sees its client "close" and lets go of this connection.
    this.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const s = this.stream;
    if (!s.destroyed && !s.closed) {
      // A whole answer while the client still sends: RST_STREAM NO_ERROR stops it (RFC 9113 §8.1).
      // An answer cut midway (its backend reset, or drained at the deadline) is cancelled; one
      // that never began is an internal error.
      if (this.answerEnded && this.reader.done) {
        // (Not while the answer's trailers wait to go: they end the stream.)
        if (!this.clientEnded && !this.trailersWait) s.close(NGHTTP2_NO_ERROR);
      } else {
        s.close(s.headersSent ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
      }
    }
    cb(err);
  }
}

function valueOf(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i] === name) return raw[i + 1] as string;
  return undefined;
}

function methodOf(raw: readonly string[]): string {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i] === ':method') return raw[i + 1] as string;
  return 'GET';
}
