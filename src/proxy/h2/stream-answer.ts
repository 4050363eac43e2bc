import { constants } from 'node:http2';
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { ResponseHead } from '../head.js';
import { answerFields, giveReader, takeReader } from './answer-reader.js';
import type { AnswerHeads, AnswerReader } from './answer-reader.js';
import { fieldsObject } from './upstream-head.js';

const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL } = constants;

/**
 * Answer pieces up to this size are copied before they go to the stream: the copy is cheap, and
 * the backend's read buffer they are a view of is then free for the next read at once (a piece
 * the stream still holds makes the upstream connection take a new 72 KiB buffer: one per request
 * when nghttp2 keeps every answer until it is sent). Larger pieces go as they are.
 */
const COPY_MAX = 16 * 1024;

/**
 * The answer side of a client stream: what the engine writes (an HTTP/1.1 answer, or its final
 * head as fields through `head`) goes on the stream as HEADERS, DATA and trailing HEADERS.
 */
export class StreamAnswer implements AnswerHeads {
  /**
   * Bytes written without a copy that the stream has not sent yet (RelaySink: while this is not 0
   * the backend's read buffer they came from is not reused).
   */
  writableLength = 0;
  /** A write returned false: 'drain' is owed once the stream drains. */
  needDrain = false;
  /** Our side of the stream ended (the whole answer went). */
  ended = false;
  private readonly stream: ServerHttp2Stream;
  private readonly reader: AnswerReader;
  /** The answer's trailer fields, kept from the reader when the answer ended (it goes back to its pool). */
  private trailers: string[] | undefined;
  /** The answer's trailers are still to be sent (after its last DATA frame). */
  private trailersWait = false;
  /** Uncopied writes still held by the stream. */
  private lentWrites = 0;

  constructor(stream: ServerHttp2Stream, method: string) {
    this.stream = stream;
    this.reader = takeReader(this, method);
  }

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
    if (bodyless) this.ended = true;
  }

  /** The answer's trailer section goes as the stream's trailing HEADERS (none: an empty END_STREAM DATA frame). */
  private readonly onWantTrailers = (): void => {
    this.trailersWait = false;
    if (!this.stream.destroyed) this.stream.sendTrailers(fieldsObject(this.trailers));
  };

  /** FieldsSink: the engine's parsed answer head (and its first body bytes `data[start..end)`). */
  head(resp: ResponseHead, extraLines: string, data: Buffer, start: number, end: number): boolean {
    if (this.reader.headDone) return this.write(data.subarray(start, end));
    this.reader.begin(resp, answerFields(resp, extraLines));
    if (end > start && !this.reader.done) return this.write(data.subarray(start, end));
    this.endIfDone();
    return !this.needDrain;
  }

  /** Bytes of the engine's HTTP/1.1 answer; false when the stream's buffer is full. */
  write(chunk: Buffer): boolean {
    const s = this.stream;
    if (!this.reader.feed(chunk)) {
      // Not an answer: cannot happen with the engine's own heads; the stream is reset.
      if (!s.destroyed) s.close(NGHTTP2_INTERNAL_ERROR);
      return true;
    }
    const pieces = this.reader.pieces;
    if (!s.destroyed && !this.ended && s.headersSent) {
      let ok = true;
      for (let i = 0; i < pieces.length; i++) ok = this.send(pieces[i] as Buffer);
      if (!ok) this.needDrain = true;
    }
    this.endIfDone();
    return !this.needDrain;
  }

  private send(piece: Buffer): boolean {
    if (piece.length <= COPY_MAX) {
      // allocUnsafe + copy: Buffer.from(buffer) takes a slower, generic path.
      const copy = Buffer.allocUnsafe(piece.length);
      piece.copy(copy, 0);
      return this.stream.write(copy);
    }
    this.lentWrites++;
    this.writableLength += piece.length;
    return this.stream.write(piece, this.onLentWritten);
  }

  private readonly onLentWritten = (): void => {
    if (--this.lentWrites === 0) this.writableLength = 0;
  };

  private endIfDone(): void {
    if (!this.reader.done || this.ended) return;
    this.ended = true;
    this.trailers = this.reader.trailers;
    if (!this.stream.destroyed) this.stream.end();
  }

  /** The engine ended its connection: the answer is over (one that ran until close ends here). */
  finish(): void {
    const s = this.stream;
    if (this.ended || s.destroyed) return;
    if (!s.headersSent) s.close(NGHTTP2_INTERNAL_ERROR);
    else if (this.reader.done || this.reader.headDone) s.end();
    this.ended = true;
  }

  /** The engine let go of the stream: it is closed as its answer stands. `clientEnded`: the request was whole. */
  close(clientEnded: boolean): void {
    const s = this.stream;
    const whole = this.ended && this.reader.done;
    giveReader(this.reader);
    if (s.destroyed || s.closed) return;
    // A whole answer while the client still sends: RST_STREAM NO_ERROR stops it (RFC 9113 §8.1).
    // An answer cut midway (its backend reset, or drained at the deadline) is cancelled; one
    // that never began is an internal error.
    if (whole) {
      // (Not while the answer's trailers wait to go: they end the stream.)
      if (!clientEnded && !this.trailersWait) s.close(NGHTTP2_NO_ERROR);
    } else {
      s.close(s.headersSent ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
    }
  }
}
