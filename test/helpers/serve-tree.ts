import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { TOKEN } from './api.js';
import { startBackend } from './backends.js';
import { expectFreshCliBuild } from './cli.js';
import type { LoadResult } from './http.js';
import { killQuietly } from './process.js';
import { freePort, spawnTurnout, tempDir, waitReady, writeYaml } from './serve.js';
import type { ServeProcess } from './serve.js';

// `turnout serve --workers 2` as a child process on fixed ports (a supervisor and its workers),
// for the tests that kill or replace the supervisor: its runtime file in the test's directory.

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export const failed = (rs: readonly LoadResult[]): LoadResult[] => rs.filter((r) => r.status !== 200);

/** Pids killed after the test if still there (orphans and a new supervisor are nobody's children). */
export const cleanUp = (pids: readonly number[]): void => onTestFinished(() => pids.forEach(killQuietly));

export interface ServeTree {
  readonly dir: string;
  readonly file: string;
  readonly proxy: string;
  readonly adminPort: number;
  readonly adminUrl: string;
  /** Starts `turnout serve --workers 2` on the config and waits until it is ready. */
  start(): Promise<ServeProcess>;
}

/** Two backends (web-1, web-2) behind service `web`; `extra` overrides top-level keys; `fileStore`: the state in a file there. */
export async function serveTree(extra: Record<string, unknown> = {}, opts: { readonly fileStore?: boolean } = {}): Promise<ServeTree> {
  expectFreshCliBuild();
  const dir = await tempDir();
  const web = [await startBackend('web-1'), await startBackend('web-2')];
  const port = await freePort();
  const adminPort = await freePort();
  const file = await writeYaml(dir, 'turnout.yaml', {
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort, token: TOKEN },
    state: opts.fileStore === true ? { store: 'file', path: join(dir, 'state.json') } : { store: 'memory' },
    log: { level: 'warn' },
    shutdown: { timeout: '5s' },
    services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: web.map((b) => ({ id: b.id, url: b.url })) } } },
    ...extra,
  });
  const env = { TURNOUT_RUNTIME_DIR: dir };
  return {
    dir,
    file,
    proxy: `http://127.0.0.1:${port}`,
    adminPort,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    async start() {
      const proc = spawnTurnout(['serve', '--config', file, '--workers', '2'], { env });
      await waitReady(proc, adminPort);
      return proc;
    },
  };
}
