import { CR, LF } from './chars.js';
import { findHeadEnd } from './parser.js';

/** findHead results besides a head end. */
export const HEAD_INCOMPLETE = -1;
export const HEAD_TOO_LARGE = -2;

/**
 * The bytes a client connection has read and not yet used: a partial head, pipelined requests,
 * or body bytes waiting for the backend to take them. `buf[start..)` is unread; `buf` is null
 * when nothing is. One per connection.
 */
export class Inbox {
  buf: Buffer | null = null;
  start = 0;
  /** Where the search for the head's end resumes (the bytes before were searched already). */
  private scanFrom = 0;

  /** Unread bytes. */
  get size(): number {
    return this.buf === null ? 0 : this.buf.length - this.start;
  }

  /** Adds bytes read from the socket. */
  append(chunk: Buffer): void {
    if (this.buf === null) {
      this.buf = chunk;
      this.start = 0;
      this.scanFrom = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.start), chunk]);
      this.scanFrom = Math.max(0, this.scanFrom - this.start);
      this.start = 0;
    }
  }

  /** Keeps `chunk[from..)` (the next pipelined request, after a body's end). */
  keep(chunk: Buffer, from: number): void {
    this.buf = chunk;
    this.start = from;
    this.scanFrom = from;
  }

  /** Everything up to `to` of `buf` was used (a head and the body bytes that came with it). */
  consumed(buf: Buffer, to: number): void {
    this.buf = to < buf.length ? buf : null;
    this.start = to;
    this.scanFrom = 0;
  }

  /** The bytes not used yet (undefined when none); the inbox is empty after. */
  take(): Buffer | undefined {
    const buf = this.buf;
    const out = buf === null ? undefined : buf.subarray(this.start);
    this.clear();
    return out;
  }

  clear(): void {
    this.buf = null;
  }

  /**
   * Skips the empty lines a request may follow (RFC 9112 §2.2). False when nothing else is
   * unread yet (a lone CR waits for its LF).
   */
  skipEmptyLines(): boolean {
    const buf = this.buf as Buffer;
    let s = this.start;
    while (s + 1 < buf.length && buf[s] === CR && buf[s + 1] === LF) s += 2;
    if (s >= buf.length || (s + 1 === buf.length && buf[s] === CR)) {
      this.buf = s >= buf.length ? null : buf;
      this.start = s;
      return false;
    }
    this.start = s;
    return true;
  }

  /**
   * The end of the head at `start` (just past its blank line), HEAD_INCOMPLETE, or
   * HEAD_TOO_LARGE when more than `maxHeaderSize` bytes hold no whole head.
   */
  findHead(maxHeaderSize: number): number {
    const buf = this.buf as Buffer;
    const s = this.start;
    const at = findHeadEnd(buf, Math.max(s, this.scanFrom), buf.length);
    if (at >= 0 && at - s <= maxHeaderSize) return at;
    if (buf.length - s > maxHeaderSize) return HEAD_TOO_LARGE;
    this.scanFrom = Math.max(s, buf.length - 3);
    return HEAD_INCOMPLETE;
  }
}
