import { describe, expect, test } from 'vitest';
import { TOKEN, fleetWorkers } from '../helpers/api.js';
import type { FleetWorker } from '../helpers/api.js';
import { steadyLoad } from '../helpers/http.js';
import { runRequests } from '../helpers/load.js';
import { adminCall, waitExit } from '../helpers/serve.js';
import { alive, cleanUp, failed, serveTree } from '../helpers/serve-tree.js';
import { sleep, until } from '../helpers/time.js';
import { reusePortAvailable } from '../../src/process/reuseport.js';

// Issue 16, acceptance 4: a supervisor crash is not an outage. SIGKILL the supervisor under 16
// connections of load: its workers (orphans) serve on; `turnout serve` again on the same config
// takes over on listeners of its own, and the orphans drain and exit.

describe.runIf(reusePortAvailable())('a supervisor that dies does not take the data plane with it', () => {
  test('SIGKILL under 16 connections: 0 failed over 5 s; serve again: 0 failed while it takes over, every worker new, the orphans gone, writes reach the new workers', async () => {
    const s = await serveTree();
    const first = await s.start();
    const before: FleetWorker[] = await fleetWorkers({ adminUrl: `http://127.0.0.1:${s.adminPort}` });
    expect(before).toHaveLength(2);
    cleanUp(before.map((w) => w.pid));

    const keepAlive = steadyLoad(s.proxy, { connections: 12, maxMs: 40_000 });
    const fresh = steadyLoad(s.proxy, { connections: 4, maxMs: 40_000, newConnections: true });
    await sleep(500);
    first.child.kill('SIGKILL');
    await waitExit(first);
    const killedAt = Date.now();
    await sleep(5000);
    const orphanPhase = [...keepAlive.results, ...fresh.results].filter((r) => r.startedAt >= killedAt);
    expect(orphanPhase.length).toBeGreaterThan(100);
    expect(failed(orphanPhase)).toEqual([]);
    for (const w of before) expect(alive(w.pid)).toBe(true);

    const restartAt = Date.now();
    const second = await s.start();
    const after = await fleetWorkers({ adminUrl: `http://127.0.0.1:${s.adminPort}` });
    cleanUp(after.map((w) => w.pid));
    await until('the orphans exited', () => before.every((w) => !alive(w.pid)), 15_000, 50);
    await sleep(500);
    const ka = await keepAlive.stop();
    const nc = await fresh.stop();
    const takeover = [...ka, ...nc].filter((r) => r.startedAt >= restartAt);
    expect(takeover.length).toBeGreaterThan(100);
    expect(failed(takeover)).toEqual([]);
    expect(failed([...ka, ...nc])).toEqual([]);

    const now = (await fleetWorkers({ adminUrl: `http://127.0.0.1:${s.adminPort}` })).filter((w) => w.state !== 'orphaned');
    expect(now).toHaveLength(2);
    for (const w of now) expect(before.map((b) => b.pid)).not.toContain(w.pid);
    for (const w of now) expect(w.connections.total).toBeGreaterThan(0);

    // A write through the new supervisor reaches its workers: web-2 in maintenance, web-1 answers all.
    const patch = await adminCall(s.adminPort, TOKEN, 'PATCH', '/v1/services/web/pools/blue/backends/web-2', { state: 'maint' });
    expect(patch.status).toBe(200);
    const outs = await runRequests(s.proxy, { count: 40, connections: 4 });
    expect(outs.map((o) => o.backend)).toEqual(Array.from({ length: 40 }, () => 'web-1'));
    second.child.kill('SIGTERM');
    await waitExit(second);
  }, 90_000);

  test('an orphan past orphanTimeout drains and exits', async () => {
    const s = await serveTree({ shutdown: { timeout: '5s', orphanTimeout: '1500ms' } });
    const first = await s.start();
    const before = await fleetWorkers({ adminUrl: `http://127.0.0.1:${s.adminPort}` });
    cleanUp(before.map((w) => w.pid));
    first.child.kill('SIGKILL');
    await waitExit(first);
    const killedAt = Date.now();
    // It still serves while the timeout runs.
    const outs = await runRequests(s.proxy, { count: 20, connections: 2 });
    expect(outs.filter((o) => o.status !== 200)).toEqual([]);
    await until('every orphan exited', () => before.every((w) => !alive(w.pid)), 15_000, 50);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1400);
  }, 40_000);
});
