import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminToken } from '../config/index.js';

export interface Principal {
  readonly name: string;
  readonly scope: 'read' | 'write';
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Bearer-token check in constant time: every configured token is compared (as fixed-length
 * digests), whatever matched, so timing says nothing about which token or how much of it.
 */
export class TokenAuth {
  private readonly tokens: readonly { digest: Buffer; principal: Principal }[];

  constructor(tokens: readonly AdminToken[]) {
    this.tokens = tokens.map((t) => ({ digest: digest(t.token), principal: { name: t.name, scope: t.scope } }));
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The principal for an Authorization header value, or undefined. */
  authenticate(header: string | undefined): Principal | undefined {
    if (header === undefined) return undefined;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (m === null) return undefined;
    const given = digest(m[1] as string);
    let found: Principal | undefined;
    for (const t of this.tokens) {
      if (timingSafeEqual(given, t.digest) && found === undefined) found = t.principal;
    }
    return found;
  }
}

/** `X-Turnout-Actor`, made safe for history and logs: printable ASCII, at most 100 characters. */
export function sanitizeActor(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const clean = v.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 100);
  return clean === '' ? undefined : clean;
}
