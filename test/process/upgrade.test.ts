import { describe, expect, test } from 'vitest';
import { TOKEN, fleetWorkers } from '../helpers/api.js';
import type { FleetWorker } from '../helpers/api.js';
import { startBackend } from '../helpers/backends.js';
import { expectFreshCliBuild, runCli } from '../helpers/cli.js';
import { steadyLoad } from '../helpers/http.js';
import type { LoadResult } from '../helpers/http.js';
import { adminCall, freePort, spawnTurnout, tempDir, waitReady, writeYaml } from '../helpers/serve.js';
import { sleep } from '../helpers/time.js';

// Issue acceptance 2: `turnout upgrade --wait` under 16 connections of load, keep-alive and new
// connections both, with turnout as a child process (supervisor and 2 workers).

const workersOf = (adminPort: number): Promise<FleetWorker[]> => fleetWorkers({ adminUrl: `http://127.0.0.1:${adminPort}` });

async function startServe(workers: number): Promise<{ proxy: string; adminPort: number; proc: ReturnType<typeof spawnTurnout> }> {
  expectFreshCliBuild();
  const dir = await tempDir();
  const web = [await startBackend('web-1'), await startBackend('web-2')];
  const port = await freePort();
  const adminPort = await freePort();
  const file = await writeYaml(dir, 'turnout.yaml', {
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort, token: TOKEN },
    state: { store: 'memory' },
    log: { level: 'warn' },
    shutdown: { timeout: '10s' },
    services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: web.map((b) => ({ id: b.id, url: b.url })) }, healthCheck: { path: '/health', interval: '1s' } } },
  });
  const proc = spawnTurnout(['serve', '--config', file, '--workers', String(workers)]);
  await waitReady(proc, adminPort);
  return { proxy: `http://127.0.0.1:${port}`, adminPort, proc };
}

const failed = (rs: readonly LoadResult[]): LoadResult[] => rs.filter((r) => r.status !== 200);

describe('upgrade: new workers from the code on disk, the old ones drain', () => {
  test('turnout upgrade --wait under 16 connections (keep-alive, and a new connection per request): 0 failed, 0 refused, every worker pid new', async () => {
    const { proxy, adminPort } = await startServe(2);
    const before = await workersOf(adminPort);
    expect(before.map((w) => w.state)).toEqual(['serving', 'serving']);

    // 12 keep-alive connections and 4 loops that open a new connection for every request.
    const keepAlive = steadyLoad(proxy, { connections: 12, maxMs: 40_000, path: (i) => (i % 10 === 0 ? '/slow?ms=300' : '/') });
    const fresh = steadyLoad(proxy, { connections: 4, maxMs: 40_000, newConnections: true });
    await sleep(800);
    const cli = await runCli(['upgrade', '--wait', '--admin', `http://127.0.0.1:${adminPort}`, '--token', TOKEN], { timeoutMs: 30_000 });
    await sleep(800);
    const ka = await keepAlive.stop();
    const nc = await fresh.stop();

    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/workers upgraded \(generation 2\)/);
    expect(cli.stdout).toMatch(/drained and exited/);
    expect(ka.length).toBeGreaterThan(200);
    expect(nc.length).toBeGreaterThan(50);
    expect(failed(ka)).toEqual([]);
    // A refused connection would show as status 0 with ECONNREFUSED.
    expect(failed(nc)).toEqual([]);

    const after = await workersOf(adminPort);
    expect(after).toHaveLength(2);
    for (const w of after) {
      expect(w.generation).toBe(2);
      expect(w.state).toBe('serving');
      expect(before.map((b) => b.pid)).not.toContain(w.pid);
    }
    // Both new workers took connections (the clients that got Connection: close reconnected).
    for (const w of after) expect(w.connections.total).toBeGreaterThan(0);
  }, 60_000);

  test('SIGUSR2 upgrades too, and a dry run changes nothing', async () => {
    const { adminPort, proc } = await startServe(1);
    const [first] = await workersOf(adminPort);
    proc.child.kill('SIGUSR2');
    const deadline = Date.now() + 15_000;
    let now = await workersOf(adminPort);
    while (Date.now() < deadline && !(now.length === 1 && now[0]?.generation === 2)) {
      await sleep(100);
      now = await workersOf(adminPort);
    }
    expect(now).toHaveLength(1);
    expect(now[0]?.pid).not.toBe(first?.pid);
    expect(now[0]?.generation).toBe(2);

    const dry = await adminCall(adminPort, TOKEN, 'POST', '/v1/upgrade?dryRun=true');
    expect(dry.status).toBe(200);
    expect(await workersOf(adminPort)).toEqual(now.map((w) => expect.objectContaining({ pid: w.pid })));
  }, 40_000);
});
