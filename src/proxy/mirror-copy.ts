import { AnswerFraming, answerFraming } from './answer-framing.js';
import { BodyTracker, FRAMING_ERROR, Framing } from './framing.js';
import { ResponseHead } from './head.js';
import type { RequestHead } from './head.js';
import { findHeadEnd, parseResponseHead } from './parser.js';
import { buildRequestHead, fillRewrite, rewriteSlot } from './rewrite.js';
import type { RelaySink, Upstream, UpstreamConn, UpstreamOwner } from './upstream.js';

/** The line every copy carries, so the mirrored app (and its logs) can tell copies from traffic. */
const MIRROR_LINE = 'x-turnout-mirror: 1\r\n';
/** A mirrored backend's answer head may take this many bytes; more ends the copy as an error. */
const MAX_ANSWER_HEAD = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** A copy's answer is read and dropped: nothing of the read buffer outlives a read. */
const DISCARD: RelaySink = { writableLength: 0 };

/**
 * What a copy reads of the client's request: the ClientSide of its exchange (declared here so the
 * mirror, which the routing table holds, does not import the connection's side of the engine).
 */
export interface MirrorSource {
  readonly head: RequestHead;
  /** The client's address (X-Forwarded-For). */
  readonly remote: string;
  readonly reqBody: { readonly mode: number };
  readonly reqBodyDone: boolean;
  readonly ctx: { readonly proto: string; readonly listenConfig: { readonly allowUnderscoreHeaders: boolean } };
}

/** Why a copy was not sent: the reasons of `turnout_mirror_dropped_total`. */
export const MirrorDrop = {
  /** `maxInFlight` copies of the service were already out. */
  FULL: 'max_in_flight',
  /** The mirrored pool had no eligible backend. */
  NO_BACKEND: 'no_backend',
  /** The request's body is larger than `maxBodyBytes`. */
  TOO_LARGE: 'body_too_large',
  /** The client's request ended before its body was whole (it left, or the answer came first). */
  INCOMPLETE: 'body_incomplete',
} as const;
export type MirrorDropReason = (typeof MirrorDrop)[keyof typeof MirrorDrop];

/** What a copy tells the service's mirror when it is over. The MirrorPool implements it. */
export interface CopyOwner {
  readonly service: string;
  readonly pool: string;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  /** The copy's answer was read (`status`), or it failed (502: connect, reset, bad answer; 504: timed out). */
  copyDone(copy: MirrorCopy, status: number, durationMs: number): void;
  /** The copy was never sent. */
  copyDropped(copy: MirrorCopy, reason: MirrorDropReason): void;
}

/**
 * One copy of a client's request on its way to a backend of the mirrored pool: its own head
 * (the same rewrite as the real request's, with the backend's Host when the service does not
 * pass it through, and `x-turnout-mirror: 1`), the body bytes collected as the request streams
 * (it goes out once they are whole), and its answer read and discarded (only the framing is
 * walked, so the connection is kept alive). It owns its upstream connection; nothing it does
 * touches the client's request. Pooled by its MirrorPool.
 */
export class MirrorCopy implements UpstreamOwner {
  up!: Upstream;
  /** When the copy began (performance.now() ms). */
  started = 0;
  /** performance.now() ms past which the copy is cut (504); 0 while the body is still collected. */
  deadline = 0;
  private readonly owner: CopyOwner;
  private conn: UpstreamConn | null = null;
  private head: Buffer = EMPTY;
  private readonly parts: Buffer[] = [];
  private bytes = 0;
  private maxBytes = 0;
  private method = '';
  private collecting = false;
  private timedOut = false;
  private headDone = false;
  private pending: Buffer | null = null;
  private readonly resp = new ResponseHead();
  private readonly body = new BodyTracker();
  private readonly framing = new AnswerFraming();
  private readonly rewrite = rewriteSlot(MIRROR_LINE);

  constructor(owner: CopyOwner) {
    this.owner = owner;
  }

  /**
   * Builds the copy of the request `conn` is sending now (`requestId`: the X-Request-Id turnout
   * gave it, so both carry the same). `body[bodyStart..bodyEnd)` came with the head. Sent at once
   * when the body is whole; otherwise bodyBytes/bodyDone follow it. True while it waits for body
   * bytes (the exchange then feeds it).
   */
  begin(conn: MirrorSource, preserveHost: boolean, requestId: string | undefined, maxBytes: number, body: Buffer, bodyStart: number, bodyEnd: number): boolean {
    const head = conn.head;
    const hostLine = !preserveHost || head.host === '' ? this.up.hostLine : head.absoluteForm ? `host: ${head.host}\r\n` : undefined;
    this.head = buildRequestHead(head, fillRewrite(this.rewrite, conn, hostLine, requestId, false), undefined, 0, 0);
    this.method = head.method;
    this.started = performance.now();
    this.maxBytes = maxBytes;
    this.bytes = 0;
    this.collecting = true;
    if (bodyEnd > bodyStart) this.bodyBytes(body, bodyStart, bodyEnd);
    if (conn.reqBodyDone) this.bodyDone();
    return this.collecting;
  }

  /** Body bytes of the request as they stream to the real backend (kept by reference: nobody writes into them). */
  bodyBytes(buf: Buffer, start: number, end: number): void {
    if (!this.collecting) return;
    this.bytes += end - start;
    if (this.bytes > this.maxBytes) {
      // A chunked body grew past the bound: the copy is not sent.
      this.collecting = false;
      this.parts.length = 0;
      this.owner.copyDropped(this, MirrorDrop.TOO_LARGE);
      return;
    }
    this.parts.push(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  }

  /** The request's body is whole: the copy goes out. Returns null: the exchange lets go of it. */
  bodyDone(): null {
    if (!this.collecting) return null;
    this.collecting = false;
    this.send();
    return null;
  }

  /** The client's request ended before its body was whole: the copy is not sent. */
  abandon(): void {
    if (!this.collecting) return;
    this.collecting = false;
    this.parts.length = 0;
    this.owner.copyDropped(this, MirrorDrop.INCOMPLETE);
  }

  private send(): void {
    const c = this.up.acquire(this, DISCARD);
    this.conn = c;
    this.timedOut = false;
    this.headDone = false;
    this.pending = null;
    this.deadline = performance.now() + (c.connected ? this.owner.responseTimeoutMs : this.owner.connectTimeoutMs);
    const socket = c.socket;
    if (this.parts.length === 0) socket.write(this.head);
    else {
      socket.cork();
      socket.write(this.head);
      for (const p of this.parts) socket.write(p);
      socket.uncork();
      this.parts.length = 0;
    }
    this.head = EMPTY;
  }

  /** Past its deadline (the pool's sweep): the copy is cut and counts as a 504. */
  timeout(): void {
    if (this.conn === null) return;
    this.timedOut = true;
    this.conn.destroy(); // its close event ends the copy
  }

  /** The mirror stops: the copy is cut and not counted. */
  cancel(): void {
    this.collecting = false;
    this.parts.length = 0;
    const c = this.conn;
    this.conn = null;
    if (c !== null) {
      c.owner = null;
      c.destroy();
    }
  }

  onUpstreamConnect(c: UpstreamConn): void {
    if (c === this.conn) this.deadline = performance.now() + this.owner.responseTimeoutMs;
  }

  onUpstreamDrain(): void {}

  onUpstreamData(c: UpstreamConn, chunk: Buffer): void {
    if (c !== this.conn) return;
    if (this.headDone) {
      this.bodyRead(this.body.feed(chunk, 0, chunk.length), chunk.length);
      return;
    }
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    let start = 0;
    for (;;) {
      const end = findHeadEnd(data, start, data.length);
      if (end < 0) {
        if (data.length - start > MAX_ANSWER_HEAD) return this.fail();
        // Copied: `chunk` is the connection's read buffer, reused by the next read.
        this.pending = Buffer.from(data.subarray(start));
        return;
      }
      if (parseResponseHead(data, start, end, this.resp) <= 0) return this.fail();
      if (this.resp.status >= 200) {
        this.headDone = true;
        this.pending = null;
        // Framed as for an HTTP/1.1 client that wants nothing kept: only where the answer ends matters.
        answerFraming(this.framing, this.method, 11, this.resp, false);
        this.body.reset(this.framing.mode, this.resp.contentLength);
        this.bodyRead(this.body.feed(data, end, data.length), data.length);
        return;
      }
      // 1xx (a 100 Continue to a copied Expect): skipped.
      start = end;
      if (start === data.length) {
        this.pending = null;
        return;
      }
    }
  }

  private bodyRead(stop: number, length: number): void {
    if (stop === FRAMING_ERROR) return this.fail();
    if (stop < 0) return;
    const c = this.conn as UpstreamConn;
    this.conn = null;
    this.up.release(c, this.framing.reusable && stop === length);
    this.over(this.resp.status);
  }

  onUpstreamClose(c: UpstreamConn): void {
    if (c !== this.conn) return;
    this.conn = null;
    // An answer framed by the close ends here; anything else was cut short.
    this.over(this.headDone && this.framing.mode === Framing.CLOSE ? this.resp.status : this.timedOut ? 504 : 502);
  }

  /** The answer was not HTTP: the connection goes, the copy counts as a 502. */
  private fail(): void {
    const c = this.conn;
    this.conn = null;
    if (c !== null) {
      c.owner = null;
      c.destroy();
    }
    this.over(502);
  }

  private over(status: number): void {
    this.resp.buf = EMPTY;
    this.pending = null;
    this.owner.copyDone(this, status, performance.now() - this.started);
  }
}
