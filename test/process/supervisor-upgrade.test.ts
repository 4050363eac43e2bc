import { describe, expect, test } from 'vitest';
import { TOKEN, fleetWorkers } from '../helpers/api.js';
import { runCli } from '../helpers/cli.js';
import { steadyLoad } from '../helpers/http.js';
import { runRequests } from '../helpers/load.js';
import { processTree } from '../helpers/process.js';
import { adminCall, waitExit } from '../helpers/serve.js';
import { alive, cleanUp, failed, serveTree } from '../helpers/serve-tree.js';
import { sleep, until } from '../helpers/time.js';
import { reusePortAvailable } from '../../src/process/reuseport.js';

// Issue 16, acceptance 5: `turnout upgrade --supervisor --wait` under 16 connections of load
// (keep-alive, and a new connection per request): a new supervisor from the code on disk gets the
// listening sockets, its workers serve, the old tree drains and exits: 0 failed, 0 refused.

const supervisorPid = async (adminPort: number): Promise<number> => {
  const r = await adminCall(adminPort, TOKEN, 'GET', '/v1/fleet');
  return (r.body as { instances: { pid: number }[] }).instances[0]!.pid;
};

describe.runIf(reusePortAvailable())('upgrade --supervisor: a new supervisor takes over the listeners', () => {
  test('--wait under 16 connections: 0 failed, 0 refused, a new supervisor and new workers, the old tree gone, writes apply', async () => {
    const s = await serveTree({}, { fileStore: true });
    const first = await s.start();
    const oldTree = processTree(first.child.pid as number);
    expect(oldTree).toHaveLength(3);
    cleanUp(oldTree);
    const before = await fleetWorkers({ adminUrl: s.adminUrl });

    const keepAlive = steadyLoad(s.proxy, { connections: 12, maxMs: 60_000, path: (i) => (i % 10 === 0 ? '/slow?ms=300' : '/') });
    const fresh = steadyLoad(s.proxy, { connections: 4, maxMs: 60_000, newConnections: true });
    await sleep(800);
    const cli = await runCli(['upgrade', '--supervisor', '--wait', '--admin', s.adminUrl, '--token', TOKEN], { timeoutMs: 60_000 });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const m = /supervisor upgraded: (\d+) \(was (\d+)/.exec(cli.stdout);
    expect(m).not.toBeNull();
    const next = Number(m![1]);
    cleanUp([next]);
    expect(Number(m![2])).toBe(first.child.pid);
    expect(cli.stdout).toMatch(/drained and exited/);
    // The old supervisor exits on its own, 0.
    expect((await waitExit(first, 20_000)).code).toBe(0);
    cleanUp(processTree(next));
    await sleep(800);
    const ka = await keepAlive.stop();
    const nc = await fresh.stop();
    expect(ka.length).toBeGreaterThan(200);
    expect(nc.length).toBeGreaterThan(50);
    expect(failed(ka)).toEqual([]);
    // A refused connection would show as status 0 with ECONNREFUSED.
    expect(failed(nc)).toEqual([]);

    expect(await supervisorPid(s.adminPort)).toBe(next);
    expect(alive(next)).toBe(true);
    await until('the old tree is gone', () => oldTree.every((p) => !alive(p)), 10_000, 50);
    const after = await fleetWorkers({ adminUrl: s.adminUrl });
    expect(after).toHaveLength(2);
    for (const w of after) expect(before.map((b) => b.pid)).not.toContain(w.pid);
    expect(processTree(next).slice(1).sort()).toEqual(after.map((w) => w.pid).sort());

    const patch = await adminCall(s.adminPort, TOKEN, 'PATCH', '/v1/services/web/pools/blue/backends/web-2', { state: 'maint' });
    expect(patch.status).toBe(200);
    const outs = await runRequests(s.proxy, { count: 40, connections: 4 });
    expect(outs.map((o) => o.backend)).toEqual(Array.from({ length: 40 }, () => 'web-1'));
    process.kill(next, 'SIGTERM');
    await until('the new supervisor stopped', () => !alive(next), 15_000, 50);
  }, 120_000);

  test('with state.store memory: 409, nothing changes', async () => {
    const s = await serveTree();
    const first = await s.start();
    cleanUp(processTree(first.child.pid as number));
    const r = await adminCall(s.adminPort, TOKEN, 'POST', '/v1/upgrade?supervisor=true');
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/state.store is memory/);
    expect(await supervisorPid(s.adminPort)).toBe(first.child.pid);
  }, 40_000);
});
