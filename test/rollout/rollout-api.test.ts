import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import type { TestBackend } from '../helpers/backends.js';
import { steadyLoad } from '../helpers/http.js';
import { PROCESS_MODELS, api, fleetWorkers, startTestTurnout } from '../helpers/turnout.js';
import { sleep } from '../helpers/time.js';

function doc(stable: TestBackend, canary: TestBackend): Record<string, unknown> {
  return {
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { stable: [{ id: 'stable-1', url: stable.url }], canary: [{ id: 'canary-1', url: canary.url }] },
        split: { stable: 100, canary: 0 },
        outlier: false,
      },
    },
  };
}

async function waitState(t: Awaited<ReturnType<typeof startTestTurnout>>, state: string, ms: number): Promise<any> {
  const end = Date.now() + ms;
  let r: any;
  while (Date.now() < end) {
    r = (await api(t, 'GET', '/v1/services/web/rollouts/current')).body.rollout;
    if (r?.state === state) return r;
    await sleep(100);
  }
  return r;
}

describe.each(PROCESS_MODELS)('automated canary (rollouts) ($name)', ({ workers }) => {
  test('a healthy canary is raised step by step and promoted', async () => {
    const stable = await startBackend('stable-1');
    const canary = await startBackend('canary-1');
    const t = await startTestTurnout(doc(stable, canary), { workers });
    // 16 connections: the kernel's SO_REUSEPORT hash spreads them over the workers by chance, and
    // 4 all landed on one of 2 workers in 1 run of 8 (a CI run at fe4231f); 16 do 1 in 30,000.
    const load = steadyLoad(t.proxyUrl, { connections: 16, maxMs: 15_000 });
    const start = await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [20, 60, 100], stepDuration: '1s', gates: { maxErrorRate: 0.01, minRequests: 5 } });
    expect(start.status).toBe(201);
    expect(start.body.rollout).toMatchObject({ pool: 'canary', stablePool: 'stable', state: 'running', step: 1, percent: 20, stepDuration: '1s' });
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 80, canary: 20 });
    // One at a time.
    expect((await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50], stepDuration: '1s' })).status).toBe(409);
    const done = await waitState(t, 'promoted', 10_000);
    const results = await load.stop();
    expect(done.state).toBe('promoted');
    expect(done.results.map((r: { percent: number; passed: boolean }) => [r.percent, r.passed])).toEqual([
      [20, true],
      [60, true],
      [100, true],
    ]);
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 0, canary: 100 });
    expect(results.every((r) => r.status === 200)).toBe(true);
    // With workers, the load's 16 connections went to both, so the gates added up both workers' counts.
    if (workers !== undefined) expect((await fleetWorkers(t)).map((w) => w.connections.total > 0)).toEqual(Array<boolean>(workers).fill(true));
    const actions = (await api(t, 'GET', '/v1/services/web/history')).body.history.map((h: { action: string }) => h.action).reverse();
    expect(actions).toEqual(['rollout_start', 'rollout_step', 'rollout_step', 'rollout_promoted']);
  });

  test('a failing gate rolls the split back to the stable pool at once and ends rolled_back with the reason', async () => {
    const stable = await startBackend('stable-1');
    const canary = await startBackend('canary-1', (_req, res) => {
      res.writeHead(500);
      res.end('broken');
    });
    const t = await startTestTurnout(doc(stable, canary), { workers });
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 10_000 });
    expect((await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [30, 100], stepDuration: '1s' })).status).toBe(201);
    const r = await waitState(t, 'rolled_back', 6000);
    await load.stop();
    expect(r.state).toBe('rolled_back');
    expect(r.reason).toMatch(/step 1 \(30%\): error rate 100% \(\d+\/\d+\) above maxErrorRate 1%/);
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 100, canary: 0 });
  });

  test('no traffic: the step waits up to maxWait for minRequests, then rolls back', async () => {
    const stable = await startBackend('stable-1');
    const canary = await startBackend('canary-1');
    const t = await startTestTurnout(doc(stable, canary), { workers });
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '1s', gates: { minRequests: 10, maxWait: '1s' } });
    await sleep(1300);
    const waiting = (await api(t, 'GET', '/v1/services/web/rollouts/current')).body.rollout;
    expect(waiting.state).toBe('running');
    expect(waiting.progress).toMatchObject({ requests: 0, errors: 0 });
    const r = await waitState(t, 'rolled_back', 4000);
    expect(r.reason).toMatch(/only 0 request\(s\) to canary within the step and maxWait; minRequests is 10/);
  });

  test('pause, resume, promote and abort; errors for a missing or ended rollout', async () => {
    const stable = await startBackend('stable-1');
    const canary = await startBackend('canary-1');
    const t = await startTestTurnout(doc(stable, canary), { workers });
    expect((await api(t, 'GET', '/v1/services/web/rollouts/current')).status).toBe(404);
    expect((await api(t, 'POST', '/v1/services/web/rollouts/current/pause')).status).toBe(404);
    expect((await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [10, 100], stepDuration: '1h' })).status).toBe(201);
    expect((await api(t, 'POST', '/v1/services/web/rollouts/current/pause')).body.rollout.state).toBe('paused');
    expect((await api(t, 'POST', '/v1/services/web/rollouts/current/pause')).status).toBe(409);
    expect((await api(t, 'POST', '/v1/services/web/rollouts/current/resume')).body.rollout.state).toBe('running');
    const promoted = await api(t, 'POST', '/v1/services/web/rollouts/current/promote', undefined, { 'x-turnout-actor': 'alice' });
    expect(promoted.body.rollout).toMatchObject({ state: 'promoted', reason: 'promote by ci (alice)' });
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 0, canary: 100 });
    expect((await api(t, 'POST', '/v1/services/web/rollouts/current/abort')).status).toBe(409);
    // A new one, aborted: traffic back to the stable pool.
    expect((await api(t, 'POST', '/v1/services/web/flip', { to: 'stable' })).status).toBe(200);
    expect((await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [25], stepDuration: '1h' })).status).toBe(201);
    expect((await api(t, 'POST', '/v1/services/web/rollouts/current/abort')).body.rollout.state).toBe('aborted');
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 100, canary: 0 });
    // Bad input changes nothing.
    const rev = (await api(t, 'GET', '/v1/services')).body.revision;
    for (const body of [
      { pool: 'canary', steps: [50, 10], stepDuration: '1s' },
      { pool: 'nope', steps: [10], stepDuration: '1s' },
      { pool: 'canary', steps: [10], stepDuration: 'soon' },
      { pool: 'canary', steps: [10], stepDuration: '1s', gates: { maxErrorRate: 2 } },
      { pool: 'canary', steps: [10], stepDuration: '500ms' },
    ]) {
      const r = await api(t, 'POST', '/v1/services/web/rollouts', body);
      expect([400, 404]).toContain(r.status);
      expect(r.body.error.message).toBeTruthy();
    }
    expect((await api(t, 'POST', '/v1/services/web/rollouts/current/explode')).status).toBe(400);
    expect((await api(t, 'GET', '/v1/services')).body.revision).toBe(rev);
  });
});
