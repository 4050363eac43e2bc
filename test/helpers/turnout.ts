import pino from 'pino';
import { onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { startTurnout } from '../../src/app.js';
import type { Turnout } from '../../src/app.js';
import { parseConfigText } from '../../src/config/index.js';
import type { StateStore } from '../../src/store/index.js';

export const TOKEN = 'test-token';
export const READ_TOKEN = 'read-token';

/**
 * Starts turnout in this process on ephemeral ports with a memory store (unless the config says
 * otherwise), tokens `test-token` (write, name "ci") and `read-token` (read). Stopped after the test.
 */
export async function startTestTurnout(doc: Record<string, unknown>, opts: { store?: StateStore; logLevel?: string } = {}): Promise<Turnout> {
  const full = {
    listen: { host: '127.0.0.1', port: 0 },
    admin: {
      host: '127.0.0.1',
      port: 0,
      tokens: [
        { name: 'ci', token: TOKEN, scope: 'write' },
        { name: 'viewer', token: READ_TOKEN, scope: 'read' },
      ],
    },
    state: { store: 'memory' },
    log: { level: 'silent' },
    ...doc,
  };
  const config = parseConfigText(stringify(full), 'test-config.yaml', {});
  const logger = pino({ level: opts.logLevel ?? 'silent' });
  const t = await startTurnout(config, { logger, ...(opts.store ? { store: opts.store } : {}) });
  onTestFinished(() => t.stop(200).then(() => undefined));
  return t;
}

/** Calls the admin API with the write token. */
export function api(
  t: Turnout,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  return apiAs(t, TOKEN, method, path, body, headers);
}

/** Calls the admin API with the given token, or with no Authorization header when undefined. */
export async function apiAs(
  t: Turnout,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const h: Record<string, string> = {};
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(`${t.adminUrl}${path}`, {
    method,
    headers: { ...h, ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
