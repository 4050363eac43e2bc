/*
 * Malformed and ambiguous raw requests, one row per rule of SPEC "Request path" (the parsing
 * paragraph), with the status turnout must answer before anything reaches a backend.
 *
 * Where SPEC names the status it is used; where SPEC is silent the row follows RFC 9112 / 9110 and
 * `why` says which section decided. Two house rules settle the RFC's "MAY accept" leniencies: SPEC
 * says parsing is strict, and STYLE says every leniency is a named option that is off, so a bare LF
 * line ending, HTAB between request-line parts and friends are refused.
 *
 * Every row is complete on its own: the bytes hold enough for a strict parser to decide (no row
 * relies on a body that never arrives), except the 408 row, which waits for listen.headersTimeout.
 * Rows are consumed by rejection-corpus.test.ts, which runs turnout with CORPUS_LISTEN.
 */

/** Statuses a rejection may carry. 414 only as an alternative for the over-long request line. */
export type RejectStatus = 400 | 405 | 408 | 414 | 431 | 501 | 505;

export interface CorpusCase {
  /** Unique: it is the test title. */
  readonly name: string;
  /** Exactly what goes on the wire, in one write, on a fresh connection. */
  readonly bytes: Buffer;
  readonly expect: RejectStatus;
  /** A second status that satisfies the contract as well (documented in `why`). */
  readonly alsoAccept?: RejectStatus;
  /** The rule, and its source (SPEC or the RFC section) where SPEC is silent. */
  readonly why: string;
}

/** listen.maxHeaderSize for the corpus run, in bytes (turnout's default is 16384). */
export const CORPUS_MAX_HEADER_SIZE = 8192;
/** listen.headersTimeout for the corpus run, in ms (default 10s), so the 408 row takes ~1 s. */
export const CORPUS_HEADERS_TIMEOUT_MS = 1000;

/** Latin-1 so every char code below 256 is exactly one byte on the wire (no UTF-8 expansion). */
function wire(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** `lines` joined with CRLF, then the empty line that ends the head, then `body`. */
function head(lines: readonly string[], body = ''): Buffer {
  return wire(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** A chunked POST to `/` with the given raw chunked body (framing errors live in `body`). */
function chunkedPost(body: string): Buffer {
  return head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked'], body);
}

/** A GET with one extra raw header line inserted after Host. */
function getWith(line: string): Buffer {
  return head(['GET / HTTP/1.1', 'Host: a', line]);
}

const S = 'SPEC "Request path"';

export const CORPUS: readonly CorpusCase[] = [
  // ── Content-Length and Transfer-Encoding together, or more than once ──────────────────────────
  {
    name: 'Content-Length and Transfer-Encoding: chunked, smuggled GET after the last chunk',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 4', 'Transfer-Encoding: chunked'], '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'),
    expect: 400,
    why: `${S}: Content-Length with Transfer-Encoding (RFC 9112 6.3 allows dropping CL; SPEC refuses)`,
  },
  {
    name: 'Transfer-Encoding before Content-Length',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked', 'Content-Length: 5'], '0\r\n\r\n'),
    expect: 400,
    why: `${S}: Content-Length with Transfer-Encoding, whichever comes first`,
  },
  {
    name: 'Content-Length with Transfer-Encoding on an HTTP/1.0 request',
    bytes: head(['POST / HTTP/1.0', 'Content-Length: 5', 'Transfer-Encoding: chunked'], '0\r\n\r\n'),
    expect: 400,
    why: `${S}: Content-Length with Transfer-Encoding`,
  },
  {
    name: 'two equal Content-Length lines',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Content-Length: 5'], 'hello'),
    expect: 400,
    why: `${S}: more than one Content-Length (stricter than RFC 9110 8.6, which lets equal values merge)`,
  },
  {
    name: 'two different Content-Length lines',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Content-Length: 6'], 'hello!'),
    expect: 400,
    why: `${S}: more than one Content-Length`,
  },
  {
    name: 'Content-Length list of equal values in one line (5, 5)',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 5, 5'], 'hello'),
    expect: 400,
    why: `${S}: more than one Content-Length; the value is not 1*DIGIT (RFC 9110 8.6)`,
  },
  {
    name: 'Content-Length with a comma and no space (5,6)',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 5,6'], 'hello!'),
    expect: 400,
    why: 'RFC 9110 8.6: Content-Length = 1*DIGIT; RFC 9112 6.3: an invalid Content-Length in a request is 400',
  },
  {
    name: 'Content-Length with a plus sign',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: +5'], 'hello'),
    expect: 400,
    why: 'RFC 9110 8.6: 1*DIGIT, no sign; RFC 9112 6.3: invalid Content-Length is 400',
  },
  {
    name: 'Content-Length negative',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: -5'], 'hello'),
    expect: 400,
    why: 'RFC 9110 8.6: 1*DIGIT, no sign; RFC 9112 6.3: invalid Content-Length is 400',
  },
  {
    name: 'Content-Length with a space between digits',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 1 0'], 'helloworld'),
    expect: 400,
    why: 'RFC 9110 8.6: 1*DIGIT (OWS only around the value, not inside); RFC 9112 6.3',
  },
  {
    name: 'Content-Length with a trailing letter',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 5a'], 'hello'),
    expect: 400,
    why: 'RFC 9110 8.6: 1*DIGIT; RFC 9112 6.3: invalid Content-Length is 400',
  },
  {
    name: 'Content-Length in hex (0x5)',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 0x5'], 'hello'),
    expect: 400,
    why: 'RFC 9110 8.6: 1*DIGIT, decimal only; RFC 9112 6.3',
  },
  {
    name: 'Content-Length empty',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: '], 'hello'),
    expect: 400,
    why: 'RFC 9110 8.6: 1*DIGIT, at least one digit; RFC 9112 6.3',
  },
  {
    name: 'Content-Length beyond 2^64 (overflow)',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 184467440737095516170'], 'hello'),
    expect: 400,
    why: 'RFC 9110 8.6: a recipient must anticipate large numerals and prevent integer overflow; a value it cannot represent is invalid (RFC 9112 6.3: 400)',
  },

  // ── Transfer-Encoding ─────────────────────────────────────────────────────────────────────────
  {
    name: 'Transfer-Encoding: gzip alone (final coding not chunked)',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: gzip'], 'hello'),
    expect: 400,
    why: `${S}: final coding not chunked, and gzip is a known coding (RFC 9112 6.3: MUST 400)`,
  },
  {
    name: 'Transfer-Encoding: chunked, gzip (chunked not last)',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked, gzip'], '0\r\n\r\n'),
    expect: 400,
    why: `${S}: final coding not chunked (known codings only)`,
  },
  {
    name: 'Transfer-Encoding: chunked, identity',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked, identity'], '0\r\n\r\n'),
    expect: 400,
    why: `${S}: final coding not chunked. "identity" is a registered (reserved) name, so it counts as known: 400 as hardening.test.ts expects, not 501`,
  },
  {
    name: 'Transfer-Encoding: foo (unknown, alone)',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: foo'], 'hello'),
    expect: 501,
    why: `${S}: final coding not chunked, "501 for an unknown coding" (SPEC's parenthetical wins over RFC 9112 6.3's 400; RFC 9112 6.1 says 501 for a coding not understood)`,
  },
  {
    name: 'Transfer-Encoding: foo, chunked (unknown coding before chunked)',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: foo, chunked'], '0\r\n\r\n'),
    expect: 501,
    why: `${S}: 501 for an unknown coding; RFC 9112 6.1: a server receiving a transfer coding it does not understand SHOULD answer 501. Known: chunked, compress, x-compress, deflate, gzip, x-gzip, identity`,
  },
  {
    name: 'Transfer-Encoding: xchunked (unknown lookalike)',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: xchunked'], '0\r\n\r\n'),
    expect: 501,
    why: `${S}: 501 for an unknown coding (a name is matched whole, case-insensitively, never by substring)`,
  },
  {
    name: 'Transfer-Encoding: chunked, chunked',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked, chunked'], '0\r\n\r\n'),
    expect: 400,
    why: 'SPEC silent; RFC 9112 7: a sender MUST NOT apply chunked more than once, so the framing is faulty (RFC 9112 6.3: 400)',
  },
  {
    name: 'two Transfer-Encoding: chunked lines',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], '0\r\n\r\n'),
    expect: 400,
    why: 'SPEC silent; two lines combine to "chunked, chunked" (RFC 9110 5.3), chunked applied twice (RFC 9112 7)',
  },
  {
    name: 'Transfer-Encoding empty',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: '], '0\r\n\r\n'),
    expect: 400,
    why: `${S}: the final coding is not chunked (there is none); RFC 9112 6.3`,
  },
  {
    name: 'Transfer-Encoding: chunked on an HTTP/1.0 request',
    bytes: head(['POST / HTTP/1.0', 'Transfer-Encoding: chunked'], '5\r\nhello\r\n0\r\n\r\n'),
    expect: 400,
    why: 'SPEC silent; RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message MUST be treated as faulty framing; faulty request framing is 400 (RFC 9112 6.3)',
  },

  // ── Line folding and whitespace ───────────────────────────────────────────────────────────────
  {
    name: 'obs-fold: continuation line starting with SP',
    bytes: head(['GET / HTTP/1.1', 'Host: a', 'X-A: 1', ' 2']),
    expect: 400,
    why: `${S}: obs-fold (RFC 9112 5.2 allows 400)`,
  },
  {
    name: 'obs-fold: continuation line starting with HTAB',
    bytes: head(['GET / HTTP/1.1', 'Host: a', 'X-A: 1', '\t2']),
    expect: 400,
    why: `${S}: obs-fold`,
  },
  {
    name: 'obs-fold of Transfer-Encoding',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding:', ' chunked'], '0\r\n\r\n'),
    expect: 400,
    why: `${S}: obs-fold (the classic smuggling shape: some parsers see chunked, some do not)`,
  },
  {
    name: 'SP-led line right after the request line',
    bytes: head(['GET / HTTP/1.1', ' Host: a', 'Host: a']),
    expect: 400,
    why: `${S}: obs-fold; RFC 9112 2.2: whitespace between the start-line and the first field is rejected or the line consumed; strict rejects`,
  },
  {
    name: 'HTAB-led line right after the request line',
    bytes: head(['GET / HTTP/1.1', '\tX-A: 1', 'Host: a']),
    expect: 400,
    why: `${S}: obs-fold; RFC 9112 2.2`,
  },
  {
    name: 'SP between header name and colon',
    bytes: getWith('X-A : 1'),
    expect: 400,
    why: `${S}: whitespace between a header name and its colon (RFC 9112 5.1: MUST 400)`,
  },
  {
    name: 'HTAB between header name and colon',
    bytes: getWith('X-A\t: 1'),
    expect: 400,
    why: `${S}: whitespace between a header name and its colon`,
  },
  {
    name: 'SP before the colon of Transfer-Encoding',
    bytes: head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Transfer-Encoding : chunked'], 'hello'),
    expect: 400,
    why: `${S}: whitespace before the colon (a parser that ignores the line would frame by Content-Length)`,
  },

  // ── Header names ──────────────────────────────────────────────────────────────────────────────
  { name: 'header name with @', bytes: getWith('X@A: 1'), expect: 400, why: `${S}: a name with a character outside token (RFC 9110 5.6.2)` },
  { name: 'header name with (', bytes: getWith('X(A: 1'), expect: 400, why: `${S}: a name with a character outside token` },
  { name: 'header name with /', bytes: getWith('X/A: 1'), expect: 400, why: `${S}: a name with a character outside token` },
  { name: 'header name with "', bytes: getWith('X"A: 1'), expect: 400, why: `${S}: a name with a character outside token` },
  { name: 'header name with a space inside', bytes: getWith('X A: 1'), expect: 400, why: `${S}: a name with a character outside token` },
  { name: 'header name with a non-ASCII byte (0xE9)', bytes: getWith('X\xe9A: 1'), expect: 400, why: `${S}: a name with a character outside token (token is ASCII only)` },
  { name: 'header name with a NUL byte', bytes: getWith('X\x00A: 1'), expect: 400, why: `${S}: a name with a character outside token` },
  { name: 'empty header name (": x")', bytes: getWith(': x'), expect: 400, why: `${S}: token is 1*tchar, an empty name is outside it` },
  { name: 'header line without a colon', bytes: getWith('X-A 1'), expect: 400, why: 'SPEC silent; RFC 9112 5: field-line = field-name ":" OWS field-value OWS; a line with no colon is not a field line (the name would contain SP anyway)' },

  // ── CR, LF, NUL and other control bytes ───────────────────────────────────────────────────────
  { name: 'bare CR inside a header value', bytes: getWith('X-A: 1\r2'), expect: 400, why: `${S}: a bare CR (RFC 9112 2.2: MUST reject or replace; strict rejects)` },
  { name: 'bare CR ending a header line', bytes: wire('GET / HTTP/1.1\r\nHost: a\rX-A: 1\r\n\r\n'), expect: 400, why: `${S}: a bare CR` },
  { name: 'bare CR inside the request-target', bytes: head(['GET /a\rb HTTP/1.1', 'Host: a']), expect: 400, why: `${S}: a bare CR` },
  { name: 'bare CR ending the request line', bytes: wire('GET / HTTP/1.1\rHost: a\r\n\r\n'), expect: 400, why: `${S}: a bare CR` },
  {
    name: 'bare LF ending the request line',
    bytes: wire('GET / HTTP/1.1\nHost: a\r\n\r\n'),
    expect: 400,
    why: 'SPEC "parsing is strict"; RFC 9112 2.2 only MAY accept a bare LF, and STYLE keeps every leniency off',
  },
  {
    name: 'bare LF ending a header line',
    bytes: wire('GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n'),
    expect: 400,
    why: 'strict: a bare LF line ending (RFC 9112 2.2 MAY accept; off here). Some parsers see one header, some two',
  },
  {
    name: 'bare LF as the empty line ending the head',
    bytes: wire('GET / HTTP/1.1\r\nHost: a\r\n\n'),
    expect: 400,
    why: 'strict: a bare LF line ending (RFC 9112 2.2 MAY accept; off here)',
  },
  {
    name: 'bare LF everywhere',
    bytes: wire('GET / HTTP/1.1\nHost: a\n\n'),
    expect: 400,
    why: 'strict: a bare LF line ending (RFC 9112 2.2 MAY accept; off here)',
  },
  { name: 'NUL in a header value', bytes: getWith('X-A: 1\x002'), expect: 400, why: 'SPEC silent; RFC 9110 5.5: NUL in a field value MUST be rejected or replaced with SP; strict rejects' },
  { name: 'SOH (0x01) in a header value', bytes: getWith('X-A: 1\x012'), expect: 400, why: 'SPEC silent; RFC 9110 5.5: field-value is VCHAR / obs-text / SP / HTAB, no other CTL' },
  { name: 'ESC (0x1b) in a header value', bytes: getWith('X-A: 1\x1b[2J'), expect: 400, why: 'SPEC silent; RFC 9110 5.5: no CTL but HTAB in a field value (a log-injection shape)' },
  { name: 'DEL (0x7f) in a header value', bytes: getWith('X-A: 1\x7f2'), expect: 400, why: 'SPEC silent; RFC 9110 5.5: DEL is a CTL, not a VCHAR' },
  { name: 'VT (0x0b) in the Transfer-Encoding value', bytes: head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: \x0bchunked'], '0\r\n\r\n'), expect: 400, why: 'SPEC silent; RFC 9110 5.5: no CTL but HTAB in a field value (VT is whitespace to some parsers)' },

  // ── Chunked framing ───────────────────────────────────────────────────────────────────────────
  { name: 'chunk size not hex (zz)', bytes: chunkedPost('zz\r\nhello\r\n0\r\n\r\n'), expect: 400, why: `${S}: a malformed chunk size (RFC 9112 7.1: chunk-size = 1*HEXDIG)` },
  { name: 'chunk size empty', bytes: chunkedPost('\r\nhello\r\n0\r\n\r\n'), expect: 400, why: `${S}: a malformed chunk size (1*HEXDIG)` },
  { name: 'chunk size with 0x prefix', bytes: chunkedPost('0x5\r\nhello\r\n0\r\n\r\n'), expect: 400, why: `${S}: a malformed chunk size (HEXDIG only, no prefix)` },
  { name: 'chunk size with a leading space', bytes: chunkedPost(' 5\r\nhello\r\n0\r\n\r\n'), expect: 400, why: `${S}: a malformed chunk size (nothing before the digits)` },
  {
    name: 'chunk size with a trailing space and no extension',
    bytes: chunkedPost('5 \r\nhello\r\n0\r\n\r\n'),
    expect: 400,
    why: `${S}: a malformed chunk size; RFC 9112 7.1.1 allows BWS only before ";" of an extension`,
  },
  { name: 'chunk size of 20+ hex digits (overflow)', bytes: chunkedPost('100000000000000000005\r\nhello\r\n0\r\n\r\n'), expect: 400, why: `${S}: a malformed chunk size; RFC 9112 7.1: anticipate large hex numerals and prevent overflow` },
  { name: 'chunk size negative', bytes: chunkedPost('-5\r\nhello\r\n0\r\n\r\n'), expect: 400, why: `${S}: a malformed chunk size (HEXDIG only)` },
  { name: 'chunk size line ending in a bare LF', bytes: chunkedPost('5\nhello\r\n0\r\n\r\n'), expect: 400, why: 'strict: a bare LF line ending (RFC 9112 2.2 MAY accept; off here)' },
  { name: 'chunk extension holding a NUL', bytes: chunkedPost('5;a\x00b\r\nhello\r\n0\r\n\r\n'), expect: 400, why: `${S}: a malformed chunk-size line (RFC 9112 7.1.1: chunk-ext-name is a token)` },
  {
    name: 'chunk longer than announced (3 announced, 5 sent)',
    bytes: chunkedPost('3\r\nhello\r\n0\r\n\r\n'),
    expect: 400,
    why: `${S}: a chunk longer than announced (the bytes after chunk-data are not CRLF)`,
  },
  { name: 'chunk data not followed by CRLF', bytes: chunkedPost('5\r\nhello0\r\n\r\n'), expect: 400, why: `${S}: a chunk longer than announced (RFC 9112 7.1: chunk-data CRLF)` },
  { name: 'chunk data followed by a bare LF', bytes: chunkedPost('5\r\nhello\n0\r\n\r\n'), expect: 400, why: `${S}: a chunk longer than announced / a bare LF` },
  {
    name: 'last chunk not followed by the empty line (a request glued on)',
    bytes: chunkedPost('5\r\nhello\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'),
    expect: 400,
    why: 'SPEC silent; RFC 9112 7.1: last-chunk trailer-section CRLF; "GET /smuggled HTTP/1.1" is not a field line (no colon, SP in the name)',
  },
  { name: 'last chunk followed by a bare LF', bytes: chunkedPost('5\r\nhello\r\n0\r\n\n'), expect: 400, why: 'strict: a bare LF line ending ends the message (RFC 9112 2.2 MAY accept; off here)' },

  // ── Request-target ────────────────────────────────────────────────────────────────────────────
  { name: 'target neither origin- nor absolute-form (foo)', bytes: head(['GET foo HTTP/1.1', 'Host: a']), expect: 400, why: `${S}: a request-target that is not origin-form, absolute-form or (for OPTIONS) *` },
  { name: 'asterisk-form on GET', bytes: head(['GET * HTTP/1.1', 'Host: a']), expect: 400, why: `${S}: * only for OPTIONS (RFC 9112 3.2.4)` },
  { name: 'authority-form on GET', bytes: head(['GET a:80 HTTP/1.1', 'Host: a']), expect: 400, why: `${S}: authority-form is for CONNECT only (RFC 9112 3.2.3)` },
  { name: 'target with a raw byte above 0x7f', bytes: head(['GET /caf\xe9 HTTP/1.1', 'Host: a']), expect: 400, why: `${S}: not origin-form (RFC 3986 has no raw octets above 0x7f; they must be percent-encoded)` },
  { name: 'target with a control byte (0x01)', bytes: head(['GET /a\x01b HTTP/1.1', 'Host: a']), expect: 400, why: `${S}: not origin-form (no CTL in a URI)` },
  { name: 'target with a NUL', bytes: head(['GET /a\x00b HTTP/1.1', 'Host: a']), expect: 400, why: `${S}: not origin-form (no CTL in a URI)` },
  { name: 'target with DEL (0x7f)', bytes: head(['GET /a\x7f HTTP/1.1', 'Host: a']), expect: 400, why: `${S}: not origin-form (DEL is a CTL)` },
  {
    name: 'target with a fragment (#)',
    bytes: head(['GET /a#frag HTTP/1.1', 'Host: a']),
    expect: 400,
    why: `${S}: origin-form = absolute-path [ "?" query ] (RFC 9112 3.2.1); "#" is in neither, clients strip fragments. Decided: 400, not a silent strip`,
  },
  { name: 'target with a space inside (four words)', bytes: head(['GET /a b HTTP/1.1', 'Host: a']), expect: 400, why: 'SPEC silent; RFC 9112 3: request-line = method SP request-target SP HTTP-version; SP is not allowed in a target' },
  {
    name: 'absolute-form with userinfo',
    bytes: head(['GET http://u@a/x HTTP/1.1', 'Host: a']),
    expect: 400,
    why: 'SPEC silent; RFC 9110 4.2.4: userinfo in an http URI SHOULD be treated as an error (it obscures the authority)',
  },

  // ── Host ─────────────────────────────────────────────────────────────────────────────────────
  { name: 'HTTP/1.1 without Host', bytes: head(['GET / HTTP/1.1', 'Accept: */*']), expect: 400, why: `${S}: no Host on HTTP/1.1 (RFC 9112 3.2: MUST 400)` },
  { name: 'two equal Host lines', bytes: head(['GET / HTTP/1.1', 'Host: a', 'Host: a']), expect: 400, why: `${S}: more than one Host` },
  { name: 'two different Host lines', bytes: head(['GET / HTTP/1.1', 'Host: a', 'Host: b']), expect: 400, why: `${S}: more than one Host (routing could pick either)` },
  { name: 'two Host lines on HTTP/1.0', bytes: head(['GET / HTTP/1.0', 'Host: a', 'Host: b']), expect: 400, why: 'SPEC names HTTP/1.1; RFC 9112 3.2: "any request message" with more than one Host is 400' },
  { name: 'Host with a space', bytes: head(['GET / HTTP/1.1', 'Host: a b']), expect: 400, why: 'SPEC silent; RFC 9112 3.2: a Host with an invalid field value is 400 (Host = uri-host [ ":" port ])' },
  { name: 'Host with a slash', bytes: head(['GET / HTTP/1.1', 'Host: a/b']), expect: 400, why: 'SPEC silent; RFC 9112 3.2: invalid Host value is 400 ("/" is not in reg-name)' },
  { name: 'Host with userinfo (@)', bytes: head(['GET / HTTP/1.1', 'Host: u@a']), expect: 400, why: 'SPEC silent; RFC 9112 3.2: invalid Host value is 400 (Host has no userinfo)' },
  { name: 'Host with a non-numeric port', bytes: head(['GET / HTTP/1.1', 'Host: a:b']), expect: 400, why: 'SPEC silent; RFC 9112 3.2: invalid Host value is 400 (port = *DIGIT)' },

  // ── Method, version, request-line shape ───────────────────────────────────────────────────────
  { name: 'method with a space inside (G ET)', bytes: head(['G ET / HTTP/1.1', 'Host: a']), expect: 400, why: 'SPEC silent; RFC 9112 3: method SP request-target SP HTTP-version, exactly three words' },
  { name: 'method followed by HTAB', bytes: head(['GET\t/ HTTP/1.1', 'Host: a']), expect: 400, why: 'strict: RFC 9112 3 requires single SP separators (splitting on any whitespace is a MAY, off here)' },
  { name: 'method with a non-token byte (G@T)', bytes: head(['G@T / HTTP/1.1', 'Host: a']), expect: 400, why: 'SPEC silent; RFC 9110 9.1: method = token' },
  { name: 'empty method (line starts with SP)', bytes: head([' / HTTP/1.1', 'Host: a']), expect: 400, why: 'SPEC silent; RFC 9110 9.1: method = token (1*tchar)' },
  { name: 'two spaces after the method', bytes: head(['GET  / HTTP/1.1', 'Host: a']), expect: 400, why: 'strict: RFC 9112 3 single SP (whitespace splitting is a MAY, off here)' },
  { name: 'two spaces before the version', bytes: head(['GET /  HTTP/1.1', 'Host: a']), expect: 400, why: 'strict: RFC 9112 3 single SP' },
  { name: 'space after the version', bytes: head(['GET / HTTP/1.1 ', 'Host: a']), expect: 400, why: 'strict: RFC 9112 3: the line ends right after HTTP-version' },
  { name: 'lower-case http/1.1', bytes: head(['GET / http/1.1', 'Host: a']), expect: 400, why: 'SPEC silent; RFC 9112 2.3: HTTP-name is case-sensitive "HTTP"' },
  { name: 'version HTTP/1 (no minor)', bytes: head(['GET / HTTP/1', 'Host: a']), expect: 400, why: 'SPEC silent; RFC 9112 2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT' },
  { name: 'version HTTP/1.10 (two-digit minor)', bytes: head(['GET / HTTP/1.10', 'Host: a']), expect: 400, why: 'SPEC silent; RFC 9112 2.3: one DIGIT each side' },
  { name: 'no version (HTTP/0.9 shape)', bytes: head(['GET /', 'Host: a']), expect: 400, why: 'SPEC silent; RFC 9112 3: HTTP-version is required; HTTP/0.9 is not served. 400, not 505: there is no version to refuse' },
  {
    name: 'version HTTP/1.2',
    bytes: head(['GET / HTTP/1.2', 'Host: a']),
    expect: 505,
    why: 'Decided: 505. RFC 9110 2.5 says a higher 1.x minor SHOULD be processed as 1.1, but no HTTP/1.2 exists, llhttp refuses it, and strict parsing keeps that leniency off; 505 names the reason',
  },
  { name: 'version HTTP/2.0 over HTTP/1 framing', bytes: head(['GET / HTTP/2.0', 'Host: a']), expect: 505, why: 'SPEC silent; RFC 9110 15.6.6: 505 for a major version the server does not support in this framing' },
  { name: 'version HTTP/3.0', bytes: head(['GET / HTTP/3.0', 'Host: a']), expect: 505, why: 'SPEC silent; RFC 9110 15.6.6: 505 for an unsupported major version' },
  { name: 'CONNECT', bytes: head(['CONNECT a:443 HTTP/1.1', 'Host: a:443']), expect: 405, why: `${S}: CONNECT gets 405` },

  // ── Size and time ─────────────────────────────────────────────────────────────────────────────
  {
    name: 'header block over listen.maxHeaderSize',
    bytes: head(['GET / HTTP/1.1', 'Host: a', `X-Big: ${'a'.repeat(CORPUS_MAX_HEADER_SIZE * 2)}`]),
    expect: 431,
    why: `${S}: a header block over listen.maxHeaderSize gets 431`,
  },
  {
    name: 'many small headers adding up over listen.maxHeaderSize',
    bytes: head(['GET / HTTP/1.1', 'Host: a', ...Array.from({ length: CORPUS_MAX_HEADER_SIZE / 4 }, (_, i) => `X-${i}: 1`)]),
    expect: 431,
    why: `${S}: the block counts, not any one line`,
  },
  {
    name: '1000 headers within listen.maxHeaderSize',
    bytes: head(['GET / HTTP/1.1', 'Host: a', ...Array.from({ length: 1000 }, () => 'a:1')]),
    expect: 431,
    why: 'Decided (SPEC silent on a count): some bound on header lines at or below 1000, answered 431 like Envoy max_headers_count (default 100); HAProxy (tune.http.maxhdr 101) and Apache (LimitRequestFields 100) also cap near 100. The head is 5 kB, under the size limit',
  },
  {
    name: 'request line over listen.maxHeaderSize',
    bytes: head([`GET /${'a'.repeat(CORPUS_MAX_HEADER_SIZE * 2)} HTTP/1.1`, 'Host: a']),
    expect: 431,
    alsoAccept: 414,
    why: `${S}: the head is over listen.maxHeaderSize (431); RFC 9112 3 also lets a server answer 414 for a target longer than it parses. Either is accepted`,
  },
  {
    name: 'head not complete within listen.headersTimeout',
    bytes: wire('GET / HTTP/1.1\r\nHost: a\r\nX-Slow: 1\r\n'),
    expect: 408,
    why: `${S}: a head not complete within listen.headersTimeout gets 408`,
  },
];
