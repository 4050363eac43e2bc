/**
 * Byte classes of RFC 9110/9112 as lookup tables: one array index per byte, no regular expression
 * on the hot path.
 */

function table(accept: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = accept(c) ? 1 : 0;
  return t;
}

const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** tchar: `!#$%&'*+-.^_`|~`, digits, letters (RFC 9110 §5.6.2). */
export const TCHAR = table((c) => isAlnum(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)));

/** field-value bytes: HTAB, SP, VCHAR, obs-text. Excludes CR, LF, NUL and the other controls. */
export const FIELD_VCHAR = table((c) => c === 0x09 || (c >= 0x20 && c <= 0x7e) || c >= 0x80);

/**
 * request-target bytes of origin-form and absolute-form: visible ASCII except `#` (a fragment is
 * never sent, RFC 9112 §3.2) . Spaces, controls and non-ASCII bytes must be percent-encoded.
 */
export const TARGET_CHAR = table((c) => c > 0x20 && c < 0x7f && c !== 0x23);

/** Host header bytes: reg-name / IPv4 / IP-literal, an optional `:port` (RFC 3986 §3.2.2). */
export const HOST_CHAR = table((c) => isAlnum(c) || "-._~!$&'()*+,;=%:[]".includes(String.fromCharCode(c)));

/** Hex digit value, or 255 when the byte is not a hex digit. */
export const HEX = new Uint8Array(256).fill(255);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;

/** True when `buf[start..start+lower.length)` equals `lower` ignoring ASCII case (`lower` is lower case). */
export function equalsLower(buf: Buffer, start: number, len: number, lower: string): boolean {
  if (len !== lower.length) return false;
  for (let i = 0; i < len; i++) {
    const c = buf[start + i] as number;
    // Letters fold with | 0x20; for the other bytes of our names (`-`, digits) the fold is a no-op.
    if ((c | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
