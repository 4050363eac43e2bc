import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { steadyLoad } from '../helpers/http.js';
import { api, startTestTurnout } from '../helpers/turnout.js';
import { erring, twoPools, waitRollout } from './helpers.js';

describe('blue-green with post-promotion gates', () => {
  test('a good green is flipped to at once and promoted after its post-promotion window', async () => {
    const t = await startTestTurnout(twoPools(await startBackend('stable-1'), await startBackend('canary-1')));
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 10_000 });
    const start = await api(t, 'POST', '/v1/services/web/rollouts', {
      pool: 'canary',
      strategy: 'blueGreen',
      postPromotion: { duration: '3s', gates: { maxErrorRate: 0.01, interval: '1s', minRequests: 5 } },
    });
    expect(start.status).toBe(201);
    expect(start.body.rollout).toMatchObject({ strategy: 'blueGreen', steps: [100], percent: 100, stepDuration: '3s', gates: { interval: '1s' } });
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 0, canary: 100 });
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 8000);
    const results = await load.stop();
    expect(r.state, r.reason).toBe('promoted');
    expect(r.results.length).toBeGreaterThanOrEqual(3);
    expect(r.results.every((x: { passed: boolean }) => x.passed)).toBe(true);
    expect(r.failedRequests).toBe(0);
    expect(results.filter((x) => x.status !== 200)).toEqual([]);
  });

  test('a green that starts failing 10 s after the flip is flipped back within one check interval; the failed requests are counted', async () => {
    const flip = { at: Number.POSITIVE_INFINITY };
    const failing = () => Date.now() - flip.at >= 10_000;
    const t = await startTestTurnout(twoPools(await startBackend('stable-1'), await startBackend('canary-1', erring(0, 0, failing))));
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 25_000 });
    flip.at = Date.now();
    await api(t, 'POST', '/v1/services/web/rollouts', {
      pool: 'canary',
      strategy: 'blueGreen',
      postPromotion: { duration: '20s', gates: { maxErrorRate: 0.01, interval: '1s', minRequests: 5 } },
    });
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 16_000);
    const results = await load.stop();
    expect(r.state).toBe('rolled_back');
    const failedAt = flip.at + 10_000;
    const lag = Date.parse(r.endedAt) - failedAt;
    expect(lag).toBeGreaterThanOrEqual(0);
    // One interval (1 s), plus a tick of the controller and the machine's load.
    expect(lag).toBeLessThan(1800);
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 100, canary: 0 });
    const seen = results.filter((x) => x.status === 500).length;
    expect(seen).toBeGreaterThan(0);
    expect(r.failedRequests).toBeGreaterThan(0);
    expect(r.failedRequests).toBeLessThanOrEqual(seen);
    expect(r.failedRequests).toBeGreaterThanOrEqual(Math.floor(seen * 0.8));
    expect(r.reason).toMatch(new RegExp(`; ${r.failedRequests} request\\(s\\) failed on canary after the flip$`));
    expect(r.results.filter((x: { passed: boolean }) => x.passed).length).toBeGreaterThanOrEqual(8);
  });
});
