/**
 * The size of an HTTP/2 header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2):
 * each field's name and value octets plus 32. node advertises `listen.http2.maxHeaderListSize` but
 * nghttp2 does not enforce it, so the front measures each stream's list itself. Pure.
 */
export function headerListSize(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) n += (raw[i] as string).length + (i % 2 === 0 ? 32 : 0);
  return n;
}
