import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import type { TestContext } from 'vitest';
import { deadPort, startBackend } from '../helpers/backends.js';
import { clientAgent, get } from '../helpers/http.js';
import { api, startTestTurnout } from '../helpers/turnout.js';

function hasPromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * promtool (Prometheus' own linter) must accept the exposition. Where it is not installed the
 * test is skipped with a note, after its other assertions; on CI (.ci/run installs it) it fails.
 */
function expectPromtoolAccepts(text: string, ctx: TestContext): void {
  if (!hasPromtool()) {
    if (process.env.CI === 'true') throw new Error('promtool is not installed: CI must lint the exposition (.ci/run installs prometheus)');
    ctx.skip('promtool is not installed (apt-get install prometheus): the exposition was not linted');
  }
  // promtool reads the exposition from stdin; exit 0 means accepted.
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect({ status: r.status, output: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, output: '' });
}

describe('GET /metrics', () => {
  test('counts requests, errors, retries and states; promtool accepts the output', async (ctx) => {
    const b1 = await startBackend('b1');
    const dead = await deadPort();
    const t = await startTestTurnout({
      services: {
        web: {
          routes: [{ host: '*', pathPrefix: '/' }],
          pools: { blue: [{ id: 'b1', url: b1.url }, { id: 'dead', url: `http://127.0.0.1:${dead}` }], green: [] },
          split: { blue: 100, green: 0 },
          outlier: false,
          healthCheck: { path: '/health', interval: '100ms' },
        },
      },
    });
    const agent = clientAgent(2);
    for (let i = 0; i < 10; i++) expect((await get(`${t.proxyUrl}/`, { agent })).status).toBe(200);
    await api(t, 'GET', '/v1/services');
    const res = await fetch(`${t.adminUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^turnout_requests_total\{service="web",pool="blue",backend="b1",code="200"\} 10$/m);
    expect(text).toMatch(/^turnout_split_percent\{service="web",pool="blue"\} 100$/m);
    expect(text).toMatch(/^turnout_split_percent\{service="web",pool="green"\} 0$/m);
    expect(text).toMatch(/^turnout_backend_state\{service="web",pool="blue",backend="b1",state="active"\} 1$/m);
    expect(text).toMatch(/^turnout_backend_weight\{service="web",pool="blue",backend="b1"\} 100$/m);
    expect(text).toMatch(/^turnout_backend_healthy\{service="web",pool="blue",backend="dead"\} 0$/m);
    expect(text).toMatch(/^turnout_backend_in_flight\{service="web",pool="blue",backend="b1"\} 0$/m);
    expect(text).toMatch(/^turnout_state_revision 1$/m);
    expect(text).toMatch(/^turnout_request_duration_seconds_count\{service="web",pool="blue"\} 10$/m);
    expect(text).toMatch(/^turnout_health_checks_total\{service="web",pool="blue",backend="dead",result="fail"\} \d+$/m);
    expect(text).toMatch(/^turnout_admin_requests_total\{route="\/v1\/services",code="200"\} 1$/m);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expectPromtoolAccepts(text, ctx);
  });

  test('retries and upstream errors are counted', async () => {
    const b1 = await startBackend('b1');
    const dead = await deadPort();
    const t = await startTestTurnout({
      services: {
        web: {
          routes: [{ host: '*', pathPrefix: '/' }],
          pools: { blue: [{ id: 'dead', url: `http://127.0.0.1:${dead}` }, { id: 'b1', url: b1.url }] },
          outlier: false,
        },
      },
    });
    const agent = clientAgent(2);
    for (let i = 0; i < 10; i++) expect((await get(`${t.proxyUrl}/`, { agent })).status).toBe(200);
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    // EDF takes the first-declared on a tie, so every first attempt goes to the dead backend and is retried.
    expect(text).toMatch(/^turnout_retries_total\{service="web"\} 10$/m);
    expect(text).toMatch(/^turnout_upstream_errors_total\{service="web",pool="blue",backend="dead",reason="connect_refused"\} 10$/m);
    expect(b1.hits).toBe(10);
  });
});

describe('metrics of backends that come and go', () => {
  test('a backend removed and registered again continues its series (no duplicate series); promtool accepts it', async (ctx) => {
    const b1 = await startBackend('b1');
    const b2 = await startBackend('b2');
    const t = await startTestTurnout({
      services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'b1', url: b1.url }, { id: 'b2', url: b2.url }] }, outlier: false } },
    });
    const agent = clientAgent(2);
    for (let i = 0; i < 4; i++) await get(`${t.proxyUrl}/`, { agent });
    expect((await api(t, 'DELETE', '/v1/services/web/pools/blue/backends/b2?wait=true')).status).toBe(200);
    expect((await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: 'b2', url: b2.url })).status).toBe(201);
    for (let i = 0; i < 4; i++) await get(`${t.proxyUrl}/`, { agent });
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    const b2Lines = text.split('\n').filter((l) => l.startsWith('turnout_requests_total{') && l.includes('backend="b2"'));
    expect(b2Lines).toEqual(['turnout_requests_total{service="web",pool="blue",backend="b2",code="200"} 4']);
    expectPromtoolAccepts(text, ctx);
  });
});
