import pino from 'pino';
import { onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { startTurnout } from '../../src/app.js';
import type { Turnout } from '../../src/app.js';
import { parseConfigText } from '../../src/config/index.js';
import { READ_TOKEN, TOKEN } from './api.js';
import type { StateStore } from '../../src/store/index.js';

export { TOKEN, READ_TOKEN, api, apiAs } from './api.js';
export type { AdminAt } from './api.js';

/**
 * A config document with the test defaults: listener and admin on 127.0.0.1 port 0, tokens
 * `test-token` (write, name "ci") and `read-token` (read), a memory store, silent logs; `doc`'s
 * keys override them.
 */
export function testDocument(doc: Record<string, unknown>): Record<string, unknown> {
  return {
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
}

/**
 * Starts turnout in this process on ephemeral ports with a memory store (unless the config says
 * otherwise), tokens `test-token` (write, name "ci") and `read-token` (read). Stopped after the test.
 */
export async function startTestTurnout(doc: Record<string, unknown>, opts: { store?: StateStore; logLevel?: string } = {}): Promise<Turnout> {
  const full = testDocument(doc);
  const config = parseConfigText(stringify(full), 'test-config.yaml', {});
  const logger = pino({ level: opts.logLevel ?? 'silent' });
  const t = await startTurnout(config, { logger, ...(opts.store ? { store: opts.store } : {}) });
  onTestFinished(() => t.stop(200).then(() => undefined));
  return t;
}
