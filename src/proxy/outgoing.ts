import { randomUUID } from 'node:crypto';
import type { ClientSide } from './client-side.js';
import { H } from './head.js';
import { INLINE_BODY, writeRequest } from './head-write.js';
import type { HeadSink } from './head-write.js';
import { buildRequestHead, fillRewrite, rewriteSlot } from './rewrite.js';
import type { ServiceTable } from './table.js';
import type { Upstream } from './upstream.js';

const EMPTY = Buffer.alloc(0);

/**
 * What goes to the backend before the body streams: the rewritten head, the body bytes that came
 * with it, and those held back for an Expect: 100-continue. One per exchange, reused for every
 * request; kept whole until the request is over so a retry can send it again.
 */
export class OutgoingRequest {
  /** The rewritten head (the first body bytes copied behind it when they fit INLINE_BODY). */
  head: Buffer = EMPTY;
  /** The X-Request-Id turnout adds; undefined when the client sent one. */
  requestId: string | undefined;
  /** The Host line follows the backend (not passed through): a retry on another backend rebuilds the head. */
  hostFollowsBackend = false;
  private body: Buffer = EMPTY;
  private bodyStart = 0;
  private bodyEnd = 0;
  private held: Buffer | undefined;
  /** One options object per exchange, filled for each request: nothing allocated for it per request. */
  private readonly rewrite = rewriteSlot();

  /**
   * Builds the request for `up`. `body[bodyStart..bodyEnd)` came with the head; with `holdBody`
   * (100-continue) they wait for takeHeld instead of going with the head.
   */
  prepare(conn: ClientSide, svc: ServiceTable, up: Upstream, body: Buffer, bodyStart: number, bodyEnd: number, holdBody: boolean, upgrade: boolean): void {
    const head = conn.head;
    this.requestId = head.has(H.X_REQUEST_ID) ? undefined : randomUUID();
    if (holdBody && bodyEnd > bodyStart) {
      // The client did not wait for 100: keep its first bytes until the backend asks.
      this.held = body.subarray(bodyStart, bodyEnd);
      bodyEnd = bodyStart;
    } else {
      this.held = undefined;
    }
    this.body = body;
    this.bodyStart = bodyStart;
    this.bodyEnd = bodyEnd;
    this.hostFollowsBackend = !svc.settings.preserveHost || head.host === '';
    this.build(conn, up, upgrade);
  }

  /** (Re)builds the head for `up`; the request id stays the same on a retry. */
  build(conn: ClientSide, up: Upstream, upgrade: boolean): void {
    const head = conn.head;
    let hostLine: string | undefined;
    if (this.hostFollowsBackend) hostLine = up.hostLine;
    else if (head.absoluteForm) hostLine = `host: ${head.host}\r\n`;
    this.head = buildRequestHead(
      head,
      fillRewrite(this.rewrite, conn, hostLine, this.requestId, upgrade),
      this.bodyEnd - this.bodyStart <= INLINE_BODY ? this.body : undefined,
      this.bodyStart,
      this.bodyEnd,
    );
  }

  /** The head and the body bytes that came with it, in one write. */
  write(socket: HeadSink): void {
    writeRequest(socket, this.head, this.body, this.bodyStart, this.bodyEnd);
  }

  /** The body bytes held for 100-continue, once; undefined when there are none. */
  takeHeld(): Buffer | undefined {
    const held = this.held;
    this.held = undefined;
    return held;
  }

  /** Drops the references to the client's receive buffer once the request is over. */
  release(): void {
    this.body = EMPTY;
    this.head = EMPTY;
    this.held = undefined;
  }
}
