import { COLON } from './chars.js';

/**
 * What a parsed head is: the RequestHead and ResponseHead the parser fills (offsets into the
 * receive buffer, reused for every request), the field kinds the engine acts on, and the parse
 * results (NEED_MORE, ParseError).
 */

export const NEED_MORE = 0;

/** Why a head was refused; the status the client gets is `errorStatus(code)`. */
export const ParseError = {
  /** Malformed syntax: 400. */
  BAD_REQUEST: -400,
  /** CONNECT: 405. */
  METHOD_NOT_ALLOWED: -405,
  /** Head over listen.maxHeaderSize, or too many fields: 431. */
  TOO_LARGE: -431,
  /** A transfer coding turnout does not know: 501. */
  NOT_IMPLEMENTED: -501,
  /** HTTP/2.0 and other versions: 505. */
  VERSION: -505,
} as const;

export function errorStatus(code: number): number {
  return -code;
}

/** Header kinds the engine acts on; everything else is OTHER and forwarded as it came. */
export const H = {
  OTHER: 0,
  HOST: 1,
  CONTENT_LENGTH: 2,
  TRANSFER_ENCODING: 3,
  CONNECTION: 4,
  /** keep-alive, proxy-connection, proxy-authorization, proxy-authenticate, te, trailer, http2-settings */
  HOP: 5,
  UPGRADE: 6,
  EXPECT: 7,
  X_FORWARDED_FOR: 8,
  /** x-forwarded-proto, x-forwarded-host: the proxy sets them. */
  X_FORWARDED_SET: 9,
  X_REQUEST_ID: 10,
  COOKIE: 11,
  X_TURNOUT_POOL: 12,
  /** A name with `_`: dropped unless listen.allowUnderscoreHeaders. */
  UNDERSCORE: 13,
} as const;

/** Most fields a head may have; more gets 431 (Node's llhttp default is 2000, nginx's is bounded by its buffers). */
export const MAX_FIELDS = 256;
const INITIAL_FIELDS = 16;
const EMPTY = Buffer.alloc(0);

export interface ParseLimits {
  /** Bytes of the whole head, request line included (listen.maxHeaderSize, default 16384). */
  readonly maxHeaderSize: number;
}

/** Transfer-Encoding values read so far in one head: is `chunked` last (1), seen, any unknown coding. */
export interface CodingState {
  last: number;
  seenChunked: boolean;
  unknown: boolean;
}

/**
 * The fields of one head as offsets into `buf`, kept on the connection and reused for every request
 * (no allocation per request). `fields` holds four numbers per field: line start, value start,
 * value end, kind; the line ends at the next field's start (or `end - 2`).
 */
export class RequestHead {
  buf: Buffer = EMPTY;
  /** Offset of the request line and just past the blank line that ends the head. */
  start = 0;
  end = 0;
  /** End of the request line (its CR). */
  lineEnd = 0;
  method = '';
  /** The target as routing sees it: origin-form (an absolute-form target is reduced to its path). */
  path = '';
  absoluteForm = false;
  /** 10 or 11. */
  version = 11;
  /** Host value: the Host field, or the authority of an absolute-form target; '' when none. */
  host = '';
  /** Host lower case without the port, for routing. */
  hostname = '';
  contentLength = -1;
  chunked = false;
  connClose = false;
  connKeepAlive = false;
  connUpgrade = false;
  /** `Connection` named other fields (to strip); rare, so only a flag here. */
  connOther = false;
  upgrade = false;
  expectContinue = false;
  fieldCount = 0;
  /** Transfer-Encoding state while the head is read (no shared scratch object). */
  readonly te: CodingState = { last: -1, seenChunked: false, unknown: false };
  /** Grown by the parser as needed, up to MAX_FIELDS. */
  fields = new Int32Array(INITIAL_FIELDS * 4);
  /** Which fields a rewrite keeps (1) or drops (0); filled by the rewrite, grown as needed. */
  keep = new Uint8Array(INITIAL_FIELDS);

  /** Drops the reference to the receive buffer once the request is over. */
  release(): void {
    this.buf = EMPTY;
  }

  /** True when the head has a field of `kind`. */
  has(kind: number): boolean {
    const f = this.fields;
    for (let i = 0; i < this.fieldCount; i++) if (f[i * 4 + 3] === kind) return true;
    return false;
  }

  /** The value of the first field of `kind` as a string, or undefined. */
  value(kind: number): string | undefined {
    const f = this.fields;
    for (let i = 0; i < this.fieldCount; i++) {
      if (f[i * 4 + 3] === kind) return this.buf.toString('latin1', f[i * 4 + 1] as number, f[i * 4 + 2] as number);
    }
    return undefined;
  }

  /** Every value of fields of `kind`, joined with `sep`; undefined when there is none. */
  values(kind: number, sep: string): string | undefined {
    let out: string | undefined;
    const f = this.fields;
    for (let i = 0; i < this.fieldCount; i++) {
      if (f[i * 4 + 3] !== kind) continue;
      const v = this.buf.toString('latin1', f[i * 4 + 1] as number, f[i * 4 + 2] as number);
      out = out === undefined ? v : out + sep + v;
    }
    return out;
  }

  /** Field i's name in lower case (only on rare paths: names listed in `Connection`). */
  nameLower(i: number): string {
    const start = this.fields[i * 4] as number;
    const colon = this.buf.indexOf(COLON, start);
    return this.buf.toString('latin1', start, colon).toLowerCase();
  }
}

/** What the engine needs from a response head (from a backend). */
export class ResponseHead {
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  status = 0;
  /** 10 or 11. */
  version = 11;
  contentLength = -1;
  chunked = false;
  connClose = false;
  connKeepAlive = false;
  connOther = false;
  fieldCount = 0;
  /** Transfer-Encoding state while the head is read (no shared scratch object). */
  readonly te: CodingState = { last: -1, seenChunked: false, unknown: false };
  /** Grown by the parser as needed, up to MAX_FIELDS. */
  fields = new Int32Array(INITIAL_FIELDS * 4);
  /** Which fields a rewrite keeps (1) or drops (0); filled by the rewrite, grown as needed. */
  keep = new Uint8Array(INITIAL_FIELDS);

  nameLower(i: number): string {
    const start = this.fields[i * 4] as number;
    const colon = this.buf.indexOf(COLON, start);
    return this.buf.toString('latin1', start, colon).toLowerCase();
  }
}
