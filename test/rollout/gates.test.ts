import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { steadyLoad } from '../helpers/http.js';
import { api, startTestTurnout } from '../helpers/turnout.js';
import { erring, twoPools, waitRollout } from './helpers.js';

describe('rollout gates against the baseline (real proxy, real traffic)', () => {
  test('stable and canary both at 3 % 5xx, maxErrorRateIncrease 1 %, no absolute gate: promoted; the metrics count the checks', async () => {
    const t = await startTestTurnout(twoPools(await startBackend('stable-1', erring(3)), await startBackend('canary-1', erring(3))));
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 15_000 });
    const start = await api(t, 'POST', '/v1/services/web/rollouts', {
      pool: 'canary',
      steps: [50, 100],
      stepDuration: '1s',
      gates: { baseline: { maxErrorRateIncrease: 0.01 }, minRequests: 100, maxWait: '5s' },
    });
    expect(start.status).toBe(201);
    expect(start.body.rollout.gates.maxErrorRate).toBeUndefined();
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 12_000);
    await load.stop();
    expect(r.state, r.reason).toBe('promoted');
    const first = r.results[0];
    expect(first.readings.stable.requests).toBeGreaterThanOrEqual(100);
    expect(first.readings.canary.errors / first.readings.canary.requests).toBeGreaterThan(0.02);
    const metrics = (await api(t, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/turnout_rollout_checks_total\{service="web",result="passed"\} 2/);
    expect(metrics).toContain('turnout_rollout_state{service="web",state="promoted"} 1');
    expect(metrics).toContain('turnout_rollout_state{service="web",state="running"} 0');
  });

  test('canary at 10 % beside stable at 1 %: rolled back at once, the reason naming both rates', async () => {
    const t = await startTestTurnout(twoPools(await startBackend('stable-1', erring(1)), await startBackend('canary-1', erring(10))));
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 15_000 });
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '1s', gates: { baseline: { maxErrorRateIncrease: 0.01 }, minRequests: 100, maxWait: '5s' } });
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 10_000);
    await load.stop();
    expect(r.state).toBe('rolled_back');
    const m = /error rate ([\d.]+)% of canary vs ([\d.]+)% of stable: increase [\d.]+% above maxErrorRateIncrease 1%/.exec(r.reason);
    expect(m, r.reason).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThan(8);
    expect(Number(m?.[2])).toBeLessThan(2);
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 100, canary: 0 });
  });

  test('a canary that adds 200 ms fails maxP99Ratio', async () => {
    const t = await startTestTurnout(twoPools(await startBackend('stable-1', erring(0, 5)), await startBackend('canary-1', erring(0, 205))));
    const load = steadyLoad(t.proxyUrl, { connections: 8, maxMs: 15_000 });
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '1s', gates: { baseline: { maxP99Ratio: 1.5 }, minRequests: 10, maxWait: '5s' } });
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 10_000);
    await load.stop();
    expect(r.state, JSON.stringify(r.results)).toBe('rolled_back');
    expect(r.reason).toMatch(/p99 [\d.]+ms of canary vs [\d.]+ms of stable: ratio [\d.]+ above maxP99Ratio 1.5/);
    expect(r.results[0].readings.canary.p99Ms).toBeGreaterThanOrEqual(200);
  });

  test('failureThreshold 2 with interval checks: a canary failing every check rolls back after two in a row, not one', async () => {
    const t = await startTestTurnout(twoPools(await startBackend('stable-1'), await startBackend('canary-1', erring(50))));
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 15_000 });
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '4s', gates: { maxErrorRate: 0.05, interval: '1s', failureThreshold: 2, minRequests: 5 } });
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 10_000);
    await load.stop();
    expect(r.state).toBe('rolled_back');
    expect(r.results.map((x: { passed: boolean }) => x.passed)).toEqual([false, false]);
    expect(r.reason).toMatch(/^step 1 \(50%\): error rate [\d.]+% .* above maxErrorRate 5% \(2 failed checks in a row, failureThreshold 2\)$/);
    // The second check came one interval after the first, inside the 4 s step.
    expect(Date.parse(r.results[1].at) - Date.parse(r.results[0].at)).toBeLessThan(2500);
    const history = (await api(t, 'GET', '/v1/services/web/history')).body.history.map((h: { action: string }) => h.action).reverse();
    expect(history).toEqual(['rollout_start', 'rollout_check', 'rollout_rolled_back']);
  });
});

describe('rollout bodies: bad input is 400 with the key path and changes nothing', () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown webhook type', { steps: [10], stepDuration: '1s', webhooks: [{ name: 'x', type: 'pre-deploy', url: 'http://127.0.0.1:1/' }] }, /^body\/webhooks\/0\/type /],
    ['a query without bounds', { steps: [10], stepDuration: '1s', gates: { metrics: [{ name: 'ok', query: 'up' }] } }, /^body\/gates\/metrics\/0 needs min or max/],
    ['a pause in a blue-green rollout', { strategy: 'blueGreen', steps: [{ pause: true }], postPromotion: { duration: '10s' } }, /^body\/steps\/0 is a pause: a blue-green rollout has no pauses/],
    ['steps in a blue-green rollout', { strategy: 'blueGreen', steps: [50], postPromotion: { duration: '10s' } }, /^body\/steps is not for a blue-green rollout/],
    ['a non-http webhook URL', { steps: [10], stepDuration: '1s', webhooks: [{ name: 'x', type: 'rollout', url: 'ftp://127.0.0.1/hook' }] }, /^body\/webhooks\/0\/url must be an http:\/\/ or https:\/\/ URL/],
    ['a percent over 100', { steps: [50, 150], stepDuration: '1s' }, /^body\/steps\/1 /],
    ['a pause before any step', { steps: [{ pause: '1m' }, 50], stepDuration: '1s' }, /^body\/steps\/0 is a pause before any step/],
    ['a pause that is neither a duration nor true', { steps: [10, { pause: 'soon' }], stepDuration: '1s' }, /^body\/steps\/1/],
    ['blue-green without postPromotion', { strategy: 'blueGreen' }, /^body\/postPromotion is required/],
    ['a mirror-first percent over 100', { steps: [10], stepDuration: '1s', mirror: { percent: 150, duration: '1m' } }, /^body\/mirror\/percent /],
  ])('%s', async (_name, body, message) => {
    const t = await startTestTurnout(twoPools(await startBackend('stable-1'), await startBackend('canary-1')));
    const before = (await api(t, 'GET', '/v1/services')).body.revision;
    const r = await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', ...body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.message).toMatch(message);
    expect((await api(t, 'GET', '/v1/services')).body.revision).toBe(before);
    expect((await api(t, 'GET', '/v1/services/web/rollouts/current')).status).toBe(404);
  });
});
