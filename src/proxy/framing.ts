import { CR, FIELD_VCHAR, HEX, LF, TCHAR } from './chars.js';

/**
 * Finds where a message body ends without decoding it: bytes pass through as they came and this
 * tracker only counts (Content-Length) or walks the chunk framing (chunked). Chunked framing is
 * checked as strictly as the head: a malformed size line, a chunk longer than announced or a
 * broken trailer section is a framing error.
 */

export const Framing = {
  /** No body (GET without length, HEAD answers, 1xx/204/304). */
  NONE: 0,
  LENGTH: 1,
  CHUNKED: 2,
  /** The body runs until the sender closes (answers only). */
  CLOSE: 3,
} as const;

/** feed() results besides an end offset. */
export const MORE = -1;
export const FRAMING_ERROR = -2;

const S_SIZE_START = 0;
const S_SIZE = 1;
const S_EXT = 2;
const S_SIZE_LF = 3;
const S_DATA = 4;
const S_DATA_CR = 5;
const S_DATA_LF = 6;
const S_TRAILER_START = 7;
const S_TRAILER_NAME = 8;
const S_TRAILER_VALUE = 9;
const S_TRAILER_LF = 10;
const S_LAST_LF = 11;

/** Hex digits a chunk size may have: 12 (256 TiB) keeps the arithmetic exact. */
const MAX_SIZE_DIGITS = 12;
/** Bytes the trailer section may take. */
const MAX_TRAILER_BYTES = 16 * 1024;

/** Receives the data bytes of a chunked body when it must be decoded (an HTTP/1.0 client). */
export type DataSink = (buf: Buffer, start: number, end: number) => void;

export class BodyTracker {
  mode: number = Framing.NONE;
  /** LENGTH: bytes still to come. CHUNKED: bytes left in the current chunk. */
  remaining = 0;
  done = true;
  private state = S_SIZE_START;
  private digits = 0;
  private trailerBytes = 0;
  /** Set to decode a chunked body (the data bytes go here, the framing is dropped). */
  sink: DataSink | undefined;

  reset(mode: number, length: number): void {
    this.mode = mode;
    this.remaining = mode === Framing.LENGTH ? length : 0;
    this.state = S_SIZE_START;
    this.digits = 0;
    this.trailerBytes = 0;
    this.sink = undefined;
    this.done = mode === Framing.NONE || (mode === Framing.LENGTH && length === 0);
  }

  /**
   * Consumes body bytes `buf[start..end)`: returns the offset just past the body's last byte when
   * the body ends in this range, MORE when every byte was consumed and more are expected, or
   * FRAMING_ERROR.
   */
  feed(buf: Buffer, start: number, end: number): number {
    if (this.done) return start;
    switch (this.mode) {
      case Framing.LENGTH: {
        const n = end - start;
        if (n < this.remaining) {
          this.remaining -= n;
          return MORE;
        }
        const stop = start + this.remaining;
        this.remaining = 0;
        this.done = true;
        return stop;
      }
      case Framing.CHUNKED:
        return this.chunked(buf, start, end);
      case Framing.CLOSE:
        return MORE;
      default:
        return start;
    }
  }

  private chunked(buf: Buffer, start: number, end: number): number {
    let p = start;
    let state = this.state;
    while (p < end) {
      const c = buf[p] as number;
      switch (state) {
        case S_SIZE_START:
          if (HEX[c] === 255) return this.fail();
          this.remaining = HEX[c] as number;
          this.digits = 1;
          state = S_SIZE;
          p++;
          break;
        case S_SIZE: {
          const h = HEX[c] as number;
          if (h !== 255) {
            if (++this.digits > MAX_SIZE_DIGITS) return this.fail();
            this.remaining = this.remaining * 16 + h;
            p++;
          } else if (c === 0x3b /* ; */) {
            state = S_EXT;
            p++;
          } else if (c === CR) {
            state = S_SIZE_LF;
            p++;
          } else {
            // Whitespace after the size, `0x`, a sign: refused (smuggling shapes).
            return this.fail();
          }
          break;
        }
        case S_EXT:
          if (c === CR) state = S_SIZE_LF;
          else if (FIELD_VCHAR[c] !== 1) return this.fail();
          p++;
          break;
        case S_SIZE_LF:
          if (c !== LF) return this.fail();
          p++;
          state = this.remaining === 0 ? S_TRAILER_START : S_DATA;
          break;
        case S_DATA: {
          const take = Math.min(this.remaining, end - p);
          if (this.sink !== undefined) this.sink(buf, p, p + take);
          this.remaining -= take;
          p += take;
          if (this.remaining === 0) state = S_DATA_CR;
          break;
        }
        case S_DATA_CR:
          // A chunk longer than announced lands here with a data byte instead of CR.
          if (c !== CR) return this.fail();
          state = S_DATA_LF;
          p++;
          break;
        case S_DATA_LF:
          if (c !== LF) return this.fail();
          state = S_SIZE_START;
          p++;
          break;
        case S_TRAILER_START:
          if (c === CR) {
            state = S_LAST_LF;
          } else {
            if (TCHAR[c] !== 1) return this.fail();
            state = S_TRAILER_NAME;
          }
          p++;
          break;
        case S_TRAILER_NAME:
          if (c === 0x3a /* : */) state = S_TRAILER_VALUE;
          else if (TCHAR[c] !== 1) return this.fail();
          if (++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail();
          p++;
          break;
        case S_TRAILER_VALUE:
          if (c === CR) state = S_TRAILER_LF;
          else if (FIELD_VCHAR[c] !== 1) return this.fail();
          if (++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail();
          p++;
          break;
        case S_TRAILER_LF:
          if (c !== LF) return this.fail();
          state = S_TRAILER_START;
          p++;
          break;
        case S_LAST_LF:
          if (c !== LF) return this.fail();
          p++;
          this.state = state;
          this.done = true;
          return p;
        default:
          return this.fail();
      }
    }
    this.state = state;
    return MORE;
  }

  private fail(): number {
    this.done = true;
    return FRAMING_ERROR;
  }
}
