import type { OutgoingHttpHeaders } from 'node:http2';
import { BodyTracker, Framing, FRAMING_ERROR, MORE } from '../framing.js';
import { H, ResponseHead } from '../head.js';
import { listedNames } from '../rewrite.js';
import { findHeadEnd, parseResponseHead } from '../parser.js';
import { Dechunker, DECHUNK_ERROR, DECHUNK_MORE } from './dechunk.js';

/** The engine's answer head may take this many bytes (it only ever writes heads it built). */
const MAX_HEAD = 64 * 1024;

/** Response fields that do not exist in HTTP/2 (RFC 9113 §8.2.2); the body is unframed instead. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);

/** What framing a final head says its body has (a ResponseHead has them). */
export interface AnswerFacts {
  readonly status: number;
  readonly chunked: boolean;
  /** -1 when none. */
  readonly contentLength: number;
}

/** Where a reader sends the heads it read. */
export interface AnswerHeads {
  /** A 1xx answer (100, 102, 103): relayed as an informational HEADERS frame. */
  informational(headers: OutgoingHttpHeaders): void;
  /**
   * The final head; `bodyless` when no body byte may follow (HEAD, 204, 304, or an empty length);
   * `trailers` when the body is chunked, so trailers may end it (gRPC's always are).
   */
  final(headers: OutgoingHttpHeaders, bodyless: boolean, trailers: boolean): void;
}

/**
 * The header list for node:http2's respond() of a backend's answer head as the engine parsed it,
 * with the lines the engine adds (`extraLines`: a sticky Set-Cookie) and without what the engine's
 * HTTP/1.1 rewrite drops (hop-by-hop fields, those its Connection lists): the fields the
 * serialise-and-read path (buildResponseHead, then answerHeaders) gave, without the bytes between.
 */
export function answerFields(resp: ResponseHead, extraLines: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': resp.status };
  const f = resp.fields;
  const listed = resp.connOther ? listedNames(resp) : undefined;
  for (let i = 0; i < resp.fieldCount; i++) {
    const kind = f[i * 4 + 3] as number;
    if (kind === H.CONNECTION || kind === H.HOP || kind === H.UPGRADE || kind === H.TRANSFER_ENCODING) continue;
    const name = resp.nameLower(i);
    if (listed !== undefined && listed.has(name)) continue;
    addField(out, name, resp.buf.toString('latin1', f[i * 4 + 1] as number, f[i * 4 + 2] as number));
  }
  // `name: value\r\n` lines (the engine's own: a sticky Set-Cookie).
  for (let at = 0; at < extraLines.length; ) {
    const eol = extraLines.indexOf('\r\n', at);
    const colon = extraLines.indexOf(':', at);
    if (eol < 0 || colon < 0 || colon > eol) break;
    addField(out, extraLines.slice(at, colon).toLowerCase(), extraLines.slice(colon + 1, eol).trim());
    at = eol + 2;
  }
  return out;
}

function addField(out: OutgoingHttpHeaders, name: string, value: string): void {
  const had = out[name];
  if (had === undefined) out[name] = name === 'set-cookie' ? [value] : value;
  else if (Array.isArray(had)) had.push(value);
  else out[name] = [String(had), value];
}

/** The header list of an HTTP/1.1 answer head, for node:http2's respond(). */
export function answerHeaders(resp: ResponseHead): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': resp.status };
  const f = resp.fields;
  for (let i = 0; i < resp.fieldCount; i++) {
    const name = resp.nameLower(i);
    if (HOP.has(name)) continue;
    const value = resp.buf.toString('latin1', f[i * 4 + 1] as number, f[i * 4 + 2] as number);
    const had = out[name];
    if (had === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = [String(had), value];
  }
  return out;
}

/**
 * Reads the HTTP/1.1 answer the engine writes to a stream's connection: 1xx heads, then the
 * final head, then its body unframed (a chunked body is decoded: HTTP/2 frames it, and its
 * trailer section is kept in `trailers` for the stream's trailing HEADERS). The body
 * pieces of each feed are collected in `pieces` for the caller to write; `done` says the body is
 * complete. A body that runs until close (no length) is complete when the engine ends.
 */
export class AnswerReader {
  /** The request's method: a HEAD answer has no body whatever its length says. */
  method = 'GET';
  readonly resp = new ResponseHead();
  private readonly body = new BodyTracker();
  private readonly dechunk = new Dechunker();
  /** The chunked answer's trailer fields (flat, names lower case), once its last chunk came. */
  get trailers(): string[] | undefined {
    return this.dechunk.trailers;
  }
  private pending: Buffer | null = null;
  headDone = false;
  done = false;
  readonly pieces: Buffer[] = [];
  /** Where the heads go: the stream the reader serves now (readers are pooled, see takeReader). */
  heads: AnswerHeads;

  constructor(heads: AnswerHeads) {
    this.heads = heads;
  }

  private readonly onDecoded = (buf: Buffer, start: number, end: number): void => {
    if (end > start) this.pieces.push(buf.subarray(start, end));
  };

  /** Consumes bytes the engine wrote; false when they are not an answer (nothing more is read). */
  feed(chunk: Buffer): boolean {
    this.pieces.length = 0;
    if (this.done) return true;
    if (this.headDone) return this.feedBody(chunk, 0);
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    let start = 0;
    for (;;) {
      const end = findHeadEnd(data, start, data.length);
      if (end < 0) {
        if (data.length - start > MAX_HEAD) return false;
        this.pending = start === 0 ? data : data.subarray(start);
        return true;
      }
      if (parseResponseHead(data, start, end, this.resp) <= 0) return false;
      const status = this.resp.status;
      if (status >= 200) {
        this.pending = null;
        this.headDone = true;
        return this.startBody(data, end);
      }
      if (status !== 101) this.heads.informational(answerHeaders(this.resp));
      start = end;
      if (start === data.length) {
        this.pending = null;
        return true;
      }
    }
  }

  private startBody(data: Buffer, end: number): boolean {
    this.begin(this.resp, answerHeaders(this.resp));
    if (this.done || end === data.length) return true;
    return this.feedBody(data, end);
  }

  /**
   * The final head, given as fields instead of bytes (the engine's parsed answer, see
   * FieldsSink): what follows is its body, framed as `resp` says.
   */
  begin(resp: AnswerFacts, headers: OutgoingHttpHeaders): void {
    const status = resp.status;
    let mode: number = Framing.CLOSE;
    if (this.method === 'HEAD' || status === 204 || status === 304) mode = Framing.NONE;
    else if (resp.chunked) mode = Framing.CHUNKED;
    else if (resp.contentLength >= 0) mode = Framing.LENGTH;
    const body = this.body;
    body.reset(mode, resp.contentLength);
    if (mode === Framing.CHUNKED) this.dechunk.reset();
    this.pending = null;
    this.headDone = true;
    this.done = body.done;
    this.heads.final(headers, this.done, mode === Framing.CHUNKED);
  }

  private feedBody(chunk: Buffer, start: number): boolean {
    const body = this.body;
    if (body.mode === Framing.CLOSE) {
      this.pieces.push(start === 0 ? chunk : chunk.subarray(start));
      return true;
    }
    if (body.mode === Framing.CHUNKED) {
      const end = this.dechunk.feed(chunk, start, chunk.length, this.onDecoded);
      if (end === DECHUNK_ERROR) return false;
      if (end !== DECHUNK_MORE) this.done = true;
      return true;
    }
    const stop = body.feed(chunk, start, chunk.length);
    if (stop === FRAMING_ERROR) return false;
    if (body.mode === Framing.LENGTH) {
      const until = stop === MORE ? chunk.length : stop;
      if (until > start) this.pieces.push(start === 0 && until === chunk.length ? chunk : chunk.subarray(start, until));
    }
    if (stop !== MORE) this.done = true;
    return true;
  }

  reset(): void {
    this.pending = null;
    this.headDone = false;
    this.done = false;
    this.pieces.length = 0;
    this.resp.buf = EMPTY;
    this.dechunk.reset();
  }
}

const EMPTY = Buffer.alloc(0);

/** Readers kept for reuse; beyond this they are left to the garbage collector. */
const MAX_FREE = 1024;
const free: AnswerReader[] = [];

/** A reader for a new stream's answer: a pooled one (a reader is a head and its field tables: not made per stream). */
export function takeReader(heads: AnswerHeads, method: string): AnswerReader {
  const r = free.pop() ?? new AnswerReader(heads);
  r.heads = heads;
  r.method = method;
  return r;
}

/** The stream is done with `r`: nothing of its answer is read again. */
export function giveReader(r: AnswerReader): void {
  r.reset();
  if (free.length < MAX_FREE) free.push(r);
}
