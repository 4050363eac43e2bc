import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { describe, expect, onTestFinished, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import type { TestBackend } from '../helpers/backends.js';
import { clientAgent, steadyLoad } from '../helpers/http.js';
import { tempDir, writeYaml } from '../helpers/serve.js';
import { runRequests } from '../helpers/load.js';
import { sleep, until } from '../helpers/time.js';
import { api, startTestTurnout, testDocument } from '../helpers/turnout.js';
import { startTurnout } from '../../src/app.js';
import type { Turnout } from '../../src/app.js';
import { loadConfigFile } from '../../src/config/index.js';
import { workerScript } from '../../src/process/index.js';

// Issue acceptance 3 (the parts no one-process test shows): with a supervisor and 2 workers,
// the metrics count every request once, health checks run once per backend, and a killed
// worker is replaced while the other loses nothing.

/** A backend that also counts its health probes (on /probe). */
async function countedBackend(id: string): Promise<TestBackend & { probes: number }> {
  const b = (await startBackend(id, (req, res, self) => {
    if (req.url === '/probe') {
      (self as TestBackend & { probes: number }).probes++;
      res.end('ok');
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'x-backend': self.id, 'content-length': 2 });
      res.end('ok');
    });
  })) as TestBackend & { probes: number };
  b.probes = 0;
  return b;
}

/** Every one of the `count` requests answered 200 (an empty or short list is not). */
const allOk = (outs: readonly { status: number }[], count: number): boolean => outs.length === count && outs.every((o) => o.status === 200);

const pids = (t: Turnout): number[] => (t.workers?.workersInfo() ?? []).map((w) => w.pid);

async function metricSum(t: Turnout, name: string): Promise<number> {
  const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

describe('a supervisor with 2 workers', () => {
  test('turnout_requests_total equals the requests sent, and both workers served connections', async () => {
    const backends = [await countedBackend('a'), await countedBackend('b')];
    const t = await startTestTurnout(webService({ blue: backends }), { workers: 2 });
    const sent = 3000;
    const outcomes = await runRequests(t.proxyUrl, { count: sent, connections: 8 });
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    expect(outcomes).toHaveLength(sent);
    // Workers report every 250 ms, and when /metrics asks.
    await until('every request counted', async () => (await metricSum(t, 'turnout_requests_total')) >= sent, 3000, 50);
    await sleep(200);
    expect(await metricSum(t, 'turnout_requests_total')).toBe(sent);
    const workers = t.workers?.workersInfo() ?? [];
    expect(workers).toHaveLength(2);
    if (t.workers?.acceptorKind === 'handoff') {
      // 8 connections given to the worker with the fewest open: 4 each.
      expect(workers.map((w) => w.connections.total)).toEqual([4, 4]);
    } else {
      // A socket each: the kernel spreads the 8 by their addresses (the spread: the test below).
      expect(workers.reduce((n, w) => n + w.connections.total, 0)).toBe(8);
    }
    expect(backends[0]!.hits + backends[1]!.hits).toBe(sent);
  }, 30_000);

  test('the workers group their outcomes, and the supervisor\'s counts are exact: by backend and code, and the duration histogram', async () => {
    const backends = [await countedBackend('a'), await countedBackend('b')];
    const t = await startTestTurnout(webService({ blue: backends }), { workers: 2 });
    const sent = 2000;
    const t0 = performance.now();
    const outcomes = await runRequests(t.proxyUrl, { count: sent, connections: 8 });
    const wallSeconds = (performance.now() - t0) / 1000;
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    await until('every request counted', async () => (await metricSum(t, 'turnout_request_duration_seconds_count')) >= sent, 3000, 50);
    await sleep(200);
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    const value = (series: string): number => Number(text.split('\n').find((l) => l.startsWith(series))?.split(' ').at(-1));
    expect(value('turnout_requests_total{service="web",pool="blue",backend="a",code="200"}')).toBe(backends[0]!.hits);
    expect(value('turnout_requests_total{service="web",pool="blue",backend="b",code="200"}')).toBe(backends[1]!.hits);
    expect(value('turnout_request_duration_seconds_count{service="web",pool="blue"}')).toBe(sent);
    expect(value('turnout_request_duration_seconds_bucket{service="web",pool="blue",le="+Inf"}')).toBe(sent);
    // The sum is the answers' own (each group recorded at its mean): above 0, below what 8 connections
    // one request after another could have spent.
    const sum = value('turnout_request_duration_seconds_sum{service="web",pool="blue"}');
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThanOrEqual(wallSeconds * 8);
  }, 30_000);

  test('health checks run once per backend in the supervisor, not once per worker', async () => {
    const backend = await countedBackend('a');
    const t = await startTestTurnout(webService({ blue: [backend] }, { healthCheck: { path: '/probe', interval: '200ms' } }), { workers: 2 });
    const at = backend.probes;
    await sleep(2000);
    const probes = backend.probes - at;
    // One checker at 200 ms (with jitter) makes about 10 probes in 2 s; one per worker would make 20 or more.
    expect(probes).toBeGreaterThanOrEqual(6);
    expect(probes).toBeLessThanOrEqual(13);
    expect((await api(t, 'GET', '/v1/services/web')).body).toMatchObject({ service: { pools: { blue: { backends: [{ id: 'a', health: 'healthy' }] } } } });
    expect(allOk(await runRequests(t.proxyUrl, { count: 20, connections: 2 }), 20)).toBe(true);
  }, 30_000);

  test('a killed worker is replaced; requests on the other worker lose nothing', async () => {
    const backends = [await countedBackend('a'), await countedBackend('b')];
    const t = await startTestTurnout(webService({ blue: backends }), { workers: 2 });
    const before = pids(t);
    const load = steadyLoad(t.proxyUrl, { connections: 8, maxMs: 20_000 });
    // Every client connection open and reported (counts are stable under steady keep-alive load).
    await until('all 8 connections are open on the workers', () => (t.workers?.workersInfo() ?? []).reduce((n, w) => n + w.connections.open, 0) === 8, 5000, 20);
    await sleep(150);
    const victim = t.workers?.workersInfo()[0];
    expect(victim).toBeDefined();
    process.kill(victim!.pid, 'SIGKILL');
    await until('a new worker serves', () => {
      const now = t.workers?.workersInfo() ?? [];
      return now.length === 2 && now.every((w) => w.state === 'serving') && !now.some((w) => w.pid === victim!.pid);
    }, 10_000, 20);
    await sleep(500);
    const results = await load.stop();
    const failed = results.filter((r) => r.status !== 200);
    // They fail at once (a reset), not after a timeout.
    for (const f of failed) expect(f.endedAt - f.startedAt).toBeLessThan(2000);
    // Only requests on the killed worker's connections can fail: at most one per connection it had.
    expect(failed.length).toBeLessThanOrEqual(victim!.connections.open);
    const survivor = before.find((p) => p !== victim!.pid);
    expect(pids(t)).toContain(survivor);
    // After the replacement, every request is served.
    const after = await runRequests(t.proxyUrl, { count: 400, connections: 8 });
    expect(after.filter((o) => o.status !== 200)).toEqual([]);
  }, 40_000);

  test('a reload reaches every worker before it answers: the new route serves at once on each worker', async () => {
    const web = await countedBackend('web-1');
    const api2 = await countedBackend('api-1');
    const dir = await tempDir();
    const doc = (services: Record<string, unknown>): Record<string, unknown> => testDocument({ services, log: { level: 'silent' } });
    const file = await writeYaml(dir, 'turnout.yaml', doc(webService({ blue: [web] }).services as Record<string, unknown>));
    const t = await startTurnout(loadConfigFile(file), { logger: pino({ level: 'silent' }), configFile: file, workers: 2 });
    onTestFinished(() => t.stop(200).then(() => undefined));
    // Keep-alive connections on both workers, held across the reload.
    // 16: with a socket per worker the kernel spreads connections by their addresses' hash.
    const agent = clientAgent(16);
    await runRequests(t.proxyUrl, { count: 64, connections: 16, agent });
    await t.workers?.tally();
    expect((t.workers?.workersInfo() ?? []).map((w) => w.connections.open > 0)).toEqual([true, true]);

    await writeYaml(dir, 'turnout.yaml', doc({ ...(webService({ blue: [web] }, { timeouts: { response: '7s' } }).services as Record<string, unknown>), api: { routes: [{ host: 'api.test', pathPrefix: '/' }], pools: { main: [{ id: 'api-1', url: api2.url }] } } }));
    const answer = await t.reload();
    expect(answer.changes).toEqual(expect.arrayContaining([{ kind: 'service_added', service: 'api' }, expect.objectContaining({ kind: 'setting_changed', service: 'web', path: 'timeouts.response' })]));
    // At once, on every worker (each keep-alive connection stays on its worker).
    const outs = await runRequests(t.proxyUrl, { count: 64, connections: 16, agent, headers: { host: 'api.test' } });
    expect(outs.map((o) => o.backend)).toEqual(Array.from({ length: 64 }, () => 'api-1'));
    expect(new Set(t.workers?.workersInfo().map((w) => w.revision))).toEqual(new Set([t.control.current.revision]));
  }, 30_000);

  test('an upgrade whose new code does not start answers 500 upgrade_failed and the old workers keep serving; fixed, it upgrades', async () => {
    const backend = await countedBackend('a');
    const dir = await tempDir();
    // The worker entry as an operator's install has it: a file on disk the upgrade reads again.
    const entry = join(dir, 'worker-entry.mjs');
    const good = `import ${JSON.stringify(pathToFileURL(workerScript()).href)};\n`;
    await writeFile(entry, good);
    const t = await startTestTurnout(webService({ blue: [backend] }), { workers: 2, workerScript: entry });
    const before = pids(t);
    await writeFile(entry, "throw new Error('a broken release');\n");
    const r = await api(t, 'POST', '/v1/upgrade?wait=drained');
    expect(r.status).toBe(500);
    expect(r.body).toMatchObject({ error: { code: 'upgrade_failed' } });
    expect(pids(t)).toEqual(before);
    expect(allOk(await runRequests(t.proxyUrl, { count: 40, connections: 4 }), 40)).toBe(true);

    await writeFile(entry, good);
    const ok = await api(t, 'POST', '/v1/upgrade?wait=drained');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ generation: 2, replaced: before, drained: true });
    expect(pids(t).some((p) => before.includes(p))).toBe(false);
    expect(allOk(await runRequests(t.proxyUrl, { count: 40, connections: 4 }), 40)).toBe(true);
  }, 40_000);

  test('POST /v1/upgrade when the data plane runs in this process: 409, nothing changes', async () => {
    const backend = await countedBackend('a');
    const t = await startTestTurnout(webService({ blue: [backend] }));
    const r = await api(t, 'POST', '/v1/upgrade');
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ error: { code: 'conflict' } });
    expect(allOk(await runRequests(t.proxyUrl, { count: 10, connections: 1 }), 10)).toBe(true);
  });
});
