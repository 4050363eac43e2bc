import { beforeAll, describe, expect, test } from 'vitest';
import { TOKEN } from '../helpers/api.js';
import { startBackend } from '../helpers/backends.js';
import type { TestBackend } from '../helpers/backends.js';
import { expectFreshCliBuild, runCli } from '../helpers/cli.js';
import { get, steadyLoad } from '../helpers/http.js';
import { adminCall, freePort, spawnTurnout, tempDir, waitReady, writeYaml } from '../helpers/serve.js';
import type { ServeProcess } from '../helpers/serve.js';

// Issue acceptance 1: reload under 16 connections of load, with `turnout` as a child process.

interface Running {
  readonly proc: ServeProcess;
  readonly dir: string;
  readonly proxy: string;
  readonly adminPort: number;
  readonly web: readonly TestBackend[];
  readonly api: TestBackend;
  /** The config document with the api service and a faster health check (what the reload adds). */
  readonly reloaded: Record<string, unknown>;
}

async function start(): Promise<Running> {
  const dir = await tempDir();
  const web = [await startBackend('web-1'), await startBackend('web-2')];
  const api = await startBackend('api-1');
  const port = await freePort();
  const adminPort = await freePort();
  const webService = (interval: string): Record<string, unknown> => ({
    routes: [{ host: '*', pathPrefix: '/' }],
    pools: { blue: web.map((b) => ({ id: b.id, url: b.url })), green: [] },
    healthCheck: { path: '/health', interval },
    outlier: false,
  });
  const doc = (services: Record<string, unknown>): Record<string, unknown> => ({
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort, token: TOKEN },
    state: { store: 'memory' },
    log: { level: 'info' },
    services,
  });
  const file = await writeYaml(dir, 'turnout.yaml', doc({ web: webService('5s') }));
  const proc = spawnTurnout(['serve', '--config', file]);
  await waitReady(proc, adminPort);
  const reloaded = doc({
    web: webService('1s'),
    api: { routes: [{ host: 'api.test', pathPrefix: '/' }], pools: { main: [{ id: api.id, url: api.url }] }, healthCheck: { path: '/health', interval: '2s' } },
  });
  return { proc, dir, proxy: `http://127.0.0.1:${port}`, adminPort, web, api, reloaded };
}

/** Polls the api service's route until it answers from its backend; resolves with when it did. */
async function apiServesAt(proxy: string, deadlineMs: number): Promise<number> {
  for (;;) {
    const r = await get(`${proxy}/`, { headers: { host: 'api.test' } }).catch(() => undefined);
    if (r?.status === 200 && r.headers['x-backend'] === 'api-1') return Date.now();
    if (Date.now() > deadlineMs) throw new Error(`the api route did not serve (last ${r?.status} ${r?.text})`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

interface ServicesBody {
  revision: number;
  services: { name: string; split: Record<string, number>; pools: Record<string, { backends: { id: string }[] }> }[];
}
const shape = (b: ServicesBody): unknown => ({
  revision: b.revision,
  services: b.services.map((s) => ({ name: s.name, split: s.split, backends: Object.values(s.pools).flatMap((p) => p.backends.map((x) => x.id)) })),
});

/** A config with a mistake at a known key path. */
function withMistake(doc: Record<string, unknown>): Record<string, unknown> {
  const services = structuredClone(doc.services) as Record<string, Record<string, unknown>>;
  (services.web as Record<string, unknown>).healthCheck = { path: '/health', interval: 'fast' };
  return { ...doc, services };
}

describe('reload under load (turnout serve as a child process)', () => {
  beforeAll(() => expectFreshCliBuild());

  test('turnout reload: a new service with its own host route and a faster health check, 0 failed requests, the route serves within 1 s; a file with a mistake: exit 1 naming the key path, nothing changed', async () => {
    const r = await start();
    const load = steadyLoad(r.proxy, { connections: 16, maxMs: 30_000 });
    await new Promise((res) => setTimeout(res, 300));

    await writeYaml(r.dir, 'turnout.yaml', r.reloaded);
    const cli = await runCli(['reload', '--json', '--admin', `http://127.0.0.1:${r.adminPort}`, '--token', TOKEN]);
    const answeredAt = Date.now();
    expect(cli.code, cli.stderr).toBe(0);
    const answer = JSON.parse(cli.stdout) as { revision: number; changes: unknown[] };
    expect(answer.changes).toEqual([
      { kind: 'service_added', service: 'api' },
      { kind: 'setting_changed', service: 'web', path: 'healthCheck.interval', from: '5s', to: '1s' },
    ]);
    expect((await apiServesAt(r.proxy, answeredAt + 5000)) - answeredAt).toBeLessThanOrEqual(1000);

    // The same file again: nothing to change.
    const again = await runCli(['reload', '--admin', `http://127.0.0.1:${r.adminPort}`, '--token', TOKEN]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing changed');

    const before = await adminCall(r.adminPort, TOKEN, 'GET', '/v1/services');
    await writeYaml(r.dir, 'turnout.yaml', withMistake(r.reloaded));
    const bad = await runCli(['reload', '--admin', `http://127.0.0.1:${r.adminPort}`, '--token', TOKEN]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('config_invalid');
    expect(bad.stderr).toContain('services.web.healthCheck.interval');
    const after = await adminCall(r.adminPort, TOKEN, 'GET', '/v1/services');
    // Under load only the in-flight counts move: the revision, services, splits and backends stay.
    expect(shape(after.body)).toEqual(shape(before.body));
    expect((await get(`${r.proxy}/`, { headers: { host: 'api.test' } })).status).toBe(200);

    await new Promise((res) => setTimeout(res, 300));
    const results = await load.stop();
    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((x) => x.status !== 200)).toEqual([]);
  }, 60_000);

  test('SIGHUP: the same reload; a file with a mistake is logged and the old config keeps serving', async () => {
    const r = await start();
    const load = steadyLoad(r.proxy, { connections: 16, maxMs: 30_000 });
    await new Promise((res) => setTimeout(res, 300));

    await writeYaml(r.dir, 'turnout.yaml', r.reloaded);
    const sentAt = Date.now();
    r.proc.child.kill('SIGHUP');
    await apiServesAt(r.proxy, sentAt + 10_000);
    expect(r.proc.output.stdout).toContain('SIGHUP: config reloaded');

    await writeYaml(r.dir, 'turnout.yaml', withMistake(r.reloaded));
    r.proc.child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (!r.proc.output.stdout.includes('reload refused') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(r.proc.output.stdout).toContain('reload refused');
    expect(r.proc.output.stdout).toContain('services.web.healthCheck.interval');
    expect((await get(`${r.proxy}/`, { headers: { host: 'api.test' } })).status).toBe(200);
    expect(r.proc.child.exitCode).toBe(null);

    await new Promise((res) => setTimeout(res, 300));
    const results = await load.stop();
    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((x) => x.status !== 200)).toEqual([]);
  }, 60_000);
});
