/**
 * An incremental chunked-body decoder that keeps the trailer section (HTTP/2 carries trailers as
 * a HEADERS frame, so the HTTP/1.1 side's chunked framing is decoded on the way: DATA frames for
 * the chunks, the trailer fields for the last HEADERS). Pure: bytes in, data ranges and fields
 * out. The bytes it reads were already checked by the engine's own framing tracker, so it only
 * refuses what it cannot decode.
 */

/** feed() results besides an end offset. */
export const DECHUNK_MORE = -1;
export const DECHUNK_ERROR = -2;

const S_SIZE = 0;
const S_EXT = 1;
const S_SIZE_LF = 2;
const S_DATA = 3;
const S_DATA_CR = 4;
const S_DATA_LF = 5;
const S_TRAILERS = 6;

/** The trailer section may take this many bytes (as the engine's tracker allows). */
const MAX_TRAILER_BYTES = 16 * 1024;

/** Receives each run of data bytes. */
export type DechunkSink = (buf: Buffer, start: number, end: number) => void;

export class Dechunker {
  private state = S_SIZE;
  private remaining = 0;
  private digits = 0;
  private trailerText = '';
  done = false;
  /** The trailer fields, flat [name, value, ...] with names lower case; undefined when there were none. */
  trailers: string[] | undefined;

  reset(): void {
    this.state = S_SIZE;
    this.remaining = 0;
    this.digits = 0;
    this.trailerText = '';
    this.done = false;
    this.trailers = undefined;
  }

  /** Decodes `buf[start..end)`: the offset past the body's end, DECHUNK_MORE, or DECHUNK_ERROR. */
  feed(buf: Buffer, start: number, end: number, sink: DechunkSink): number {
    let p = start;
    while (p < end && !this.done) {
      const c = buf[p] as number;
      switch (this.state) {
        case S_SIZE: {
          const h = hex(c);
          if (h >= 0) {
            if (++this.digits > 12) return DECHUNK_ERROR;
            this.remaining = this.remaining * 16 + h;
          } else if (this.digits === 0) return DECHUNK_ERROR;
          else if (c === 0x3b) this.state = S_EXT;
          else if (c === 0x0d) this.state = S_SIZE_LF;
          else return DECHUNK_ERROR;
          p++;
          break;
        }
        case S_EXT:
          if (c === 0x0d) this.state = S_SIZE_LF;
          p++;
          break;
        case S_SIZE_LF:
          if (c !== 0x0a) return DECHUNK_ERROR;
          p++;
          this.digits = 0;
          this.state = this.remaining === 0 ? S_TRAILERS : S_DATA;
          break;
        case S_DATA: {
          const take = Math.min(this.remaining, end - p);
          sink(buf, p, p + take);
          this.remaining -= take;
          p += take;
          if (this.remaining === 0) this.state = S_DATA_CR;
          break;
        }
        case S_DATA_CR:
          if (c !== 0x0d) return DECHUNK_ERROR;
          this.state = S_DATA_LF;
          p++;
          break;
        case S_DATA_LF:
          if (c !== 0x0a) return DECHUNK_ERROR;
          this.state = S_SIZE;
          p++;
          break;
        default: {
          // The trailer section: field lines up to an empty line.
          const before = this.trailerText.length;
          const text = before === 0 ? buf.toString('latin1', p, end) : this.trailerText + buf.toString('latin1', p, end);
          const stop = text.startsWith('\r\n') ? 2 : text.indexOf('\r\n\r\n') + 4;
          if (stop < 4 && stop !== 2) {
            if (text.length > MAX_TRAILER_BYTES) return DECHUNK_ERROR;
            this.trailerText = text;
            return DECHUNK_MORE;
          }
          if (stop > 2) this.trailers = parseFields(text.slice(0, stop - 4));
          this.trailerText = '';
          this.done = true;
          return p + (stop - before);
        }
      }
    }
    return this.done ? p : DECHUNK_MORE;
  }
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** `name: value` lines (CRLF between) as a flat list, names lower case, values trimmed. */
export function parseFields(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return out;
}
