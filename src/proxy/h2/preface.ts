/**
 * The HTTP/2 connection preface (RFC 9113 §3.4) on a plain listener: a connection whose first 24
 * bytes are it speaks HTTP/2 with prior knowledge (h2c); any other is HTTP/1.1. Pure.
 */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** What the first bytes of a connection say. */
export const Sniff = { HTTP1: 0, H2: 1, MORE: 2 } as const;
export type SniffResult = (typeof Sniff)[keyof typeof Sniff];

/** HTTP1 at the first byte that differs from the preface, H2 once all 24 matched, MORE before that. */
export function sniffPreface(buf: Buffer): SniffResult {
  const n = buf.length < PREFACE.length ? buf.length : PREFACE.length;
  for (let i = 0; i < n; i++) if (buf[i] !== PREFACE[i]) return Sniff.HTTP1;
  return n === PREFACE.length ? Sniff.H2 : Sniff.MORE;
}

/** A connection's bytes read so far are the preface or its start (a parsed `PRI * HTTP/2.0` head leaves 18 or more). */
export function prefaceRead(inbox: { readonly buf: Buffer | null; readonly start: number }): boolean {
  return inbox.buf !== null && inbox.start === 0 && sniffPreface(inbox.buf) !== Sniff.HTTP1;
}
