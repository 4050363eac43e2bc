import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { adminCall, freePort, spawnTurnout, tempDir, waitExit, waitReady, writeYaml } from '../helpers/serve.js';
import type { ServeProcess } from '../helpers/serve.js';

// `turnout serve` with a file store, as real child processes: what deploy tools change through the
// admin API survives a restart; --reset-state seeds again from the config; a corrupt state file
// stops start-up and is never overwritten.

const TOKEN = 't';

interface Setup {
  dir: string;
  configFile: string;
  statePath: string;
  adminPort: number;
  start(extra?: string[]): Promise<ServeProcess>;
  stop(p: ServeProcess): Promise<void>;
}

async function setup(): Promise<Setup> {
  const dir = await tempDir();
  const [listenPort, adminPort, deadPort] = [await freePort(), await freePort(), await freePort()];
  const statePath = join(dir, 'data', 'state.json');
  const configFile = await writeYaml(dir, 'turnout.yaml', {
    listen: { host: '127.0.0.1', port: listenPort },
    admin: { host: '127.0.0.1', port: adminPort },
    state: { store: 'file', path: statePath },
    log: { level: 'warn' },
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { blue: [{ id: 'blue-1', url: `http://127.0.0.1:${deadPort}` }], green: [] },
        split: { blue: 100, green: 0 },
      },
    },
  });
  return {
    dir,
    configFile,
    statePath,
    adminPort,
    async start(extra = []) {
      const p = spawnTurnout(['serve', '--config', configFile, ...extra], { env: { TURNOUT_ADMIN_TOKEN: TOKEN } });
      await waitReady(p, adminPort);
      return p;
    },
    async stop(p) {
      p.child.kill('SIGTERM');
      const { code } = await waitExit(p);
      expect(code, p.output.stderr).toBe(0);
    },
  };
}

interface BackendView {
  id: string;
  url: string;
  weight: number;
}
interface ServiceView {
  name: string;
  split: Record<string, number>;
  pools: Record<string, { backends: BackendView[] }>;
}

async function webService(s: Setup): Promise<{ revision: number; web: ServiceView }> {
  const r = await adminCall(s.adminPort, TOKEN, 'GET', '/v1/services');
  expect(r.status).toBe(200);
  const web = (r.body.services as ServiceView[]).find((svc) => svc.name === 'web');
  expect(web).toBeDefined();
  return { revision: r.body.revision as number, web: web as ServiceView };
}

/** id, url and weight of a pool's backends (what the store owns; health and in-flight are live). */
const backendsOf = (web: ServiceView, pool: string): BackendView[] =>
  (web.pools[pool]?.backends ?? []).map((b) => ({ id: b.id, url: b.url, weight: b.weight }));

/** Starts, registers green-1 (weight 7), sets blue 40 / green 60, stops with SIGTERM. */
async function changeAndStop(s: Setup): Promise<{ revision: number; blue: BackendView[] }> {
  const p = await s.start();
  const before = await webService(s);
  expect(before.web.split).toEqual({ blue: 100, green: 0 });
  const reg = await adminCall(s.adminPort, TOKEN, 'POST', '/v1/services/web/pools/green/backends', {
    id: 'green-1',
    url: 'http://127.0.0.1:3999',
    weight: 7,
  });
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  const split = await adminCall(s.adminPort, TOKEN, 'PUT', '/v1/services/web/split', { split: { blue: 40, green: 60 } });
  expect(split.status, JSON.stringify(split.body)).toBe(200);
  expect(split.body.revision).toBe(before.revision + 2);
  await s.stop(p);
  return { revision: split.body.revision, blue: backendsOf(before.web, 'blue') };
}

test('pools, weights and split set through the admin API survive SIGTERM and a restart; --reset-state seeds again', async () => {
  const s = await setup();
  const changed = await changeAndStop(s);

  const second = await s.start();
  const after = await webService(s);
  expect(after.revision).toBe(changed.revision);
  expect(after.web.split).toEqual({ blue: 40, green: 60 });
  expect(backendsOf(after.web, 'green')).toEqual([{ id: 'green-1', url: 'http://127.0.0.1:3999', weight: 7 }]);
  expect(backendsOf(after.web, 'blue')).toEqual(changed.blue);
  await s.stop(second);

  await s.start(['--reset-state']);
  const reset = await webService(s);
  // Above the stored revision, so an If-Match taken before the reset cannot match by accident.
  expect(reset.revision).toBeGreaterThan(changed.revision);
  expect(reset.web.split).toEqual({ blue: 100, green: 0 });
  expect(backendsOf(reset.web, 'green')).toEqual([]);
  expect(backendsOf(reset.web, 'blue')).toEqual(changed.blue);
});

test('a corrupt state file stops start-up naming the file and stays byte-identical; --reset-state moves it aside', async () => {
  const s = await setup();
  const bytes = Buffer.from('{"revision": 12, "services": {"web": {"split": {"blue": 40, "gre');
  await mkdir(join(s.dir, 'data'));
  await writeFile(s.statePath, bytes);

  const p = spawnTurnout(['serve', '--config', s.configFile], { env: { TURNOUT_ADMIN_TOKEN: TOKEN } });
  const { code } = await waitExit(p);
  expect(code).not.toBe(0);
  expect(code).not.toBeNull();
  expect(p.output.stderr).toContain(`state file ${s.statePath} is corrupt`);
  expect(p.output.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  expect((await readFile(s.statePath)).equals(bytes)).toBe(true);
  expect(await readdir(join(s.dir, 'data'))).toEqual(['state.json']);

  // The remedy the message names: the old file is kept beside, the state seeded from the config.
  await s.start(['--reset-state']);
  const after = await webService(s);
  expect(after.web.split).toEqual({ blue: 100, green: 0 });
  const files = await readdir(join(s.dir, 'data'));
  const aside = files.find((f) => f.startsWith('state.json.corrupt-'));
  expect(aside, files.join(', ')).toBeDefined();
  expect((await readFile(join(s.dir, 'data', aside as string))).equals(bytes)).toBe(true);
});
