import { describe, expect, test } from 'vitest';
import type { Handler } from '../helpers/backends.js';
import { deadPort, startBackend } from '../helpers/backends.js';
import { steadyLoad } from '../helpers/http.js';
import { api, startTestTurnout } from '../helpers/turnout.js';
import { twoPools, waitRollout } from './helpers.js';
import { hasPrometheus, startPrometheus, untilNumber } from './prometheus-server.js';

/** A small app with its own /metrics: app_requests_total by code; it answers 500 to half while `bad()`. */
function appWithMetrics(bad: () => boolean): Handler {
  const codes = new Map<number, number>([
    [200, 0],
    [500, 0],
  ]);
  let n = 0;
  return (req, res) => {
    req.resume();
    if (req.url === '/metrics') {
      const lines = ['# TYPE app_requests_total counter', ...[...codes].map(([c, v]) => `app_requests_total{code="${c}"} ${v}`), ''];
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(lines.join('\n'));
      return;
    }
    const code = bad() && n++ % 2 === 0 ? 500 : 200;
    codes.set(code, (codes.get(code) ?? 0) + 1);
    res.writeHead(code);
    res.end(code === 200 ? 'ok' : 'boom');
  };
}

const SUCCESS = 'sum(rate(app_requests_total{code="200"}[3s])) / sum(rate(app_requests_total[3s]))';
const gate = { name: 'success', query: SUCCESS, min: 0.95 };

describe.skipIf(!hasPrometheus())('metric gates on a real Prometheus scraping the app', () => {
  async function setup(bad: { now: boolean }, prometheusUrl?: string): Promise<{ t: Awaited<ReturnType<typeof startTestTurnout>>; prom: string }> {
    const canary = await startBackend('canary-1', appWithMetrics(() => bad.now));
    const prom = prometheusUrl ?? (await startPrometheus([`127.0.0.1:${canary.port}`])).url;
    const t = await startTestTurnout(twoPools(await startBackend('stable-1'), canary, { rollouts: { prometheus: { url: prom, timeout: '2s' } } }));
    return { t, prom };
  }

  test('a gate on the success ratio promotes a good canary, and rolls back one whose ratio drops', async () => {
    const bad = { now: false };
    const { t, prom } = await setup(bad);
    // Traffic to the canary before its rollout, so the query has data: it takes 10 % by hand first.
    // (The absolute error-rate gate is opened up in the second rollout: the metric gate alone decides.)
    await api(t, 'PUT', '/v1/services/web/split', { split: { stable: 90, canary: 10 } });
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 40_000 });
    expect(await untilNumber(prom, SUCCESS, 15_000)).toBe(1);
    await api(t, 'POST', '/v1/services/web/flip', { to: 'stable' });
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '1s', gates: { metrics: [gate] } });
    const good = await waitRollout(t, ['promoted', 'rolled_back'], 10_000);
    expect(good.state, good.reason).toBe('promoted');
    expect(good.results[0].readings.metrics).toEqual([{ name: 'success', value: 1, min: 0.95 }]);
    await api(t, 'POST', '/v1/services/web/flip', { to: 'stable' });
    bad.now = true;
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '4s', gates: { maxErrorRate: 1, metrics: [gate], interval: '1s' } });
    const dropped = await waitRollout(t, ['promoted', 'rolled_back'], 12_000);
    await load.stop();
    expect(dropped.state).toBe('rolled_back');
    expect(dropped.reason).toMatch(/^step 1 \(50%\): metric "success" = 0\.\d+ below min 0\.95$/);
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 100, canary: 0 });
  });

  test('a query error fails the check with Prometheus\'s reason', async () => {
    const { t } = await setup({ now: false });
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 10_000 });
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '1s', gates: { metrics: [{ name: 'typo', query: 'sum(rate(app_requests_total[3s]', min: 0 }] } });
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 8000);
    await load.stop();
    expect(r.state).toBe('rolled_back');
    expect(r.reason).toMatch(/^step 1 \(50%\): metric "typo": query failed: .*parse error/);
  });

  test('Prometheus down fails the check, naming where it was looked for', async () => {
    const port = await deadPort();
    const { t } = await setup({ now: false }, `http://127.0.0.1:${port}`);
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 10_000 });
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '1s', gates: { metrics: [gate] } });
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 8000);
    await load.stop();
    expect(r.state).toBe('rolled_back');
    expect(r.reason).toBe(`step 1 (50%): metric "success": Prometheus unreachable at http://127.0.0.1:${port}/: ECONNREFUSED`);
  });
});
