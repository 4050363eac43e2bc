import { constants } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http2';
import type { ProxyErrorCode } from '../../errors.js';
import { encodeGrpcMessage, parseGrpcStatus } from '../grpc.js';
import { chunkSizeLine, CRLF, lastChunk } from './request-head.js';
import { AnswerBody, upstreamAnswerHead } from './upstream-head.js';
import type { AnswerBodyKind } from './upstream-head.js';

const { NGHTTP2_FLAG_END_STREAM } = constants;

/** What a drain deadline ends a gRPC stream with (SPEC: 14 UNAVAILABLE in trailers, so clients retry). */
export const DRAINED = { status: 14, message: 'turnout: the backend was drained', code: 'upstream_error' } as const;
/** What a call whose grpc-timeout ran out ends with. */
export const DEADLINE = { status: 4, message: 'turnout: the backend did not answer in time', code: 'upstream_timeout' } as const;

export interface GrpcEnding {
  readonly status: number;
  readonly message: string;
  readonly code: ProxyErrorCode;
}

/**
 * An h2 backend's answer, event by event, as the HTTP/1.1 answer the engine reads: informational
 * heads, the final head, DATA (chunk-framed unless it has a length), trailers in the last chunk.
 * `give` takes each piece and says whether the engine can take more (backpressure).
 */
export class UpstreamAnswer {
  /** The final head went to the engine. */
  answered = false;
  /** The whole answer went to the engine. */
  done = false;
  /** The answer's grpc-status (trailers-only head, or trailers); -1 when none came. */
  grpcStatus = -1;
  private body: AnswerBodyKind = AnswerBody.NONE;
  private trailers: string[] | undefined;
  private readonly give: (buf: Buffer) => boolean;

  constructor(give: (buf: Buffer) => boolean) {
    this.give = give;
  }

  informational(headers: IncomingHttpHeaders, raw: readonly string[]): void {
    const status = Number(headers[':status']);
    if (status >= 100 && status < 200 && !this.answered) this.give(upstreamAnswerHead(raw, false, false).head);
  }

  response(flags: number, raw: readonly string[], method: string): void {
    const a = upstreamAnswerHead(raw, (flags & NGHTTP2_FLAG_END_STREAM) !== 0, method === 'HEAD');
    this.answered = true;
    this.body = a.body;
    if (a.grpcStatus !== undefined) this.grpcStatus = parseGrpcStatus(a.grpcStatus) ?? 2;
    this.give(a.head);
    if (a.body === AnswerBody.NONE) this.done = true;
  }

  /** A DATA frame's bytes; false when the engine is full (pause the stream). */
  data(chunk: Buffer): boolean {
    if (this.done) return true;
    if (this.body !== AnswerBody.CHUNKED) return this.give(chunk);
    this.give(chunkSizeLine(chunk.length));
    this.give(chunk);
    return this.give(CRLF);
  }

  trailersCame(raw: string[]): void {
    this.trailers = raw;
    // A grpc-status that is not a number is UNKNOWN (gRPC over HTTP/2).
    for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i] === 'grpc-status') this.grpcStatus = parseGrpcStatus(raw[i + 1]) ?? 2;
  }

  end(): void {
    if (this.done || !this.answered) return;
    this.done = true;
    if (this.body === AnswerBody.CHUNKED) this.give(lastChunk(this.trailers));
  }

  /**
   * turnout ends a gRPC call itself (the drain deadline: 14 UNAVAILABLE; its grpc-timeout: 4
   * DEADLINE_EXCEEDED), in the trailers of the answer that began, or trailers-only (with
   * X-Turnout-Error) when none did. False when it cannot (an answer with a length): the stream is
   * cancelled instead.
   */
  endWith(e: GrpcEnding): boolean {
    if (this.answered && this.body !== AnswerBody.CHUNKED) return false;
    this.done = true;
    this.grpcStatus = e.status;
    const trailers = ['grpc-status', String(e.status), 'grpc-message', encodeGrpcMessage(e.message)];
    if (this.answered) this.give(lastChunk(trailers));
    else {
      this.answered = true;
      this.give(upstreamAnswerHead([':status', '200', 'content-type', 'application/grpc', ...trailers, 'x-turnout-error', e.code], true, false).head);
    }
    return true;
  }
}
