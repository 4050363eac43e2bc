/**
 * Finds `name=value` in a Cookie header without parsing the whole header (hot path: no
 * allocation but the returned value).
 */
export function readStickyCookie(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  let from = 0;
  for (;;) {
    const i = cookieHeader.indexOf(name, from);
    if (i < 0) return undefined;
    const before = i === 0 ? 32 : cookieHeader.charCodeAt(i - 1);
    const atStart = before === 32 /* space */ || before === 59; /* ; */
    if (atStart && cookieHeader.charCodeAt(i + name.length) === 61 /* = */) {
      const start = i + name.length + 1;
      const end = cookieHeader.indexOf(';', start);
      return (end < 0 ? cookieHeader.slice(start) : cookieHeader.slice(start, end)).trim();
    }
    from = i + name.length;
  }
}
