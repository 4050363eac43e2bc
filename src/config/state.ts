import { readFileSync } from 'node:fs';
import type { RawConfig } from './schema.js';
import type { RedisTlsSettings, StateSettings } from './types.js';

type RawState = NonNullable<RawConfig['state']>;

/** Keys whose values are secrets: never echoed in a config problem, a diff or a log. */
export const SECRET_STATE_KEYS: readonly string[] = ['state.url', 'state.password', 'state.sentinelPassword'];

/**
 * The `state` section normalised, with the combinations a Redis store refuses reported by key
 * path: `url` with `sentinels`, `sentinels` without `name`, neither of them, TLS files that
 * cannot be read, a client certificate without its key.
 */
export function normaliseState(raw: RawState | undefined, problems: string[]): StateSettings {
  const store = raw?.store ?? 'file';
  const base = { store, path: raw?.path ?? './data/state.json', prefix: raw?.prefix ?? 'turnout:' };
  if (store !== 'redis' || raw === undefined) return { ...base, ...(raw?.url ? { url: raw.url } : {}) };
  if (raw.url !== undefined && raw.sentinels !== undefined) problems.push('state.sentinels: give either state.url or state.sentinels, not both');
  else if (raw.url === undefined && raw.sentinels === undefined) problems.push('state.url: required when state.store is "redis" (or state.sentinels with state.name)');
  if (raw.sentinels !== undefined && raw.name === undefined) problems.push('state.name: required with state.sentinels (the primary group name the sentinels watch)');
  if (raw.name !== undefined && raw.sentinels === undefined) problems.push('state.name: only with state.sentinels');
  if (raw.sentinelPassword !== undefined && raw.sentinels === undefined) problems.push('state.sentinelPassword: only with state.sentinels');
  const tls = raw.tls === undefined ? undefined : checkTls(raw.tls, problems);
  return {
    ...base,
    ...(raw.url !== undefined ? { url: raw.url } : {}),
    ...(raw.sentinels !== undefined ? { sentinels: raw.sentinels.map((s) => ({ host: s.host, port: s.port })) } : {}),
    ...(raw.name !== undefined ? { name: raw.name } : {}),
    ...(raw.username !== undefined ? { username: raw.username } : {}),
    ...(raw.password !== undefined ? { password: raw.password } : {}),
    ...(raw.sentinelPassword !== undefined ? { sentinelPassword: raw.sentinelPassword } : {}),
    ...(tls !== undefined ? { tls } : {}),
  };
}

function checkTls(tls: NonNullable<RawState['tls']>, problems: string[]): RedisTlsSettings {
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = tls[key];
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (err) {
      problems.push(`state.tls.${key}: cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (tls.cert !== undefined && tls.key === undefined) problems.push('state.tls.key: required with state.tls.cert');
  if (tls.key !== undefined && tls.cert === undefined) problems.push('state.tls.cert: required with state.tls.key');
  return { ...tls };
}

/** A Redis URL with its password replaced by `***` (the user name stays: it names the ACL user). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    // Not parseable: show the scheme alone rather than risk showing a password.
    return `${url.split('://')[0] ?? 'redis'}://(hidden)`;
  }
}

/** Where the state lives, for messages: "redis at rediss://app:***@host:6380", "redis via sentinels a:26379 (primary turnout)". */
export function describeStore(state: StateSettings): string {
  if (state.store === 'file') return `file at ${state.path}`;
  if (state.store !== 'redis') return state.store;
  const as = state.username !== undefined ? ` as ${state.username}` : '';
  if (state.sentinels !== undefined) {
    return `redis via sentinels ${state.sentinels.map((s) => `${s.host}:${s.port}`).join(',')} (primary ${state.name ?? '?'})${as}`;
  }
  return `redis at ${redactUrl(state.url ?? 'redis://127.0.0.1:6379')}${as}`;
}

/** The state section as it may be shown (reload diffs, logs): passwords hidden, the URL redacted. */
export function redactedState(state: StateSettings): Record<string, unknown> {
  return {
    ...state,
    ...(state.url !== undefined ? { url: redactUrl(state.url) } : {}),
    ...(state.password !== undefined ? { password: '(hidden)' } : {}),
    ...(state.sentinelPassword !== undefined ? { sentinelPassword: '(hidden)' } : {}),
  };
}
