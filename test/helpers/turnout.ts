import pino from 'pino';
import { onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { startTurnout } from '../../src/app.js';
import type { Turnout } from '../../src/app.js';
import { parseConfigText } from '../../src/config/index.js';
import { READ_TOKEN, TOKEN } from './api.js';
import type { StateStore } from '../../src/store/index.js';

export { TOKEN, READ_TOKEN, api, apiAs, fleetWorkers } from './api.js';
export type { AdminAt, FleetWorker } from './api.js';

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
 * The process models a behaviour is shown for: the data plane in this process, and a supervisor
 * (this process) with two worker processes (the built dist/, which `npm test` makes first).
 */
export const PROCESS_MODELS = [
  { name: 'one process', workers: undefined },
  { name: '2 workers', workers: 2 },
] as const;
export type ProcessModel = (typeof PROCESS_MODELS)[number];

/**
 * Starts turnout in this process on ephemeral ports with a memory store (unless the config says
 * otherwise), tokens `test-token` (write, name "ci") and `read-token` (read). With `workers`, this
 * process is the supervisor of that many worker processes. Stopped after the test.
 */
export async function startTestTurnout(
  doc: Record<string, unknown>,
  opts: { store?: StateStore; logLevel?: string; workers?: number | undefined; workerScript?: string } = {},
): Promise<Turnout> {
  const full = testDocument(doc);
  const config = parseConfigText(stringify(full), 'test-config.yaml', {});
  const logger = pino({ level: opts.logLevel ?? 'silent' });
  const t = await startTurnout(config, { logger, ...(opts.store ? { store: opts.store } : {}), ...(opts.workers !== undefined ? { workers: opts.workers } : {}), ...(opts.workerScript !== undefined ? { workerScript: opts.workerScript } : {}) });
  onTestFinished(() => t.stop(200).then(() => undefined));
  return t;
}
