import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, test } from 'vitest';
import { TOKEN } from '../helpers/api.js';
import { startBackend } from '../helpers/backends.js';
import { expectFreshCliBuild, runCli } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { adminCall, freePort, spawnTurnout, tempDir, waitExit, waitReady, writeYaml } from '../helpers/serve.js';
import { until } from '../helpers/time.js';

// `turnout serve` with `mirror:` in its file and a file store, driven by the CLI: the mirror
// seeds the state, `turnout mirror` changes it, a reload and a restart keep it.

describe('turnout serve and turnout mirror', () => {
  test('config mirror: copies flow; the CLI changes and stops it; bad input exits 1 naming the key; reload and restart keep it', async () => {
    expectFreshCliBuild();
    const blue = await startBackend('blue-1');
    const copies: string[] = [];
    const green = await startBackend('green-1', (req: IncomingMessage, res: ServerResponse) => {
      copies.push(`${req.url} ${req.headers['x-turnout-mirror']}`);
      req.resume();
      res.writeHead(200, { 'content-length': '2' }).end('ok');
    });
    const dir = await tempDir();
    const port = await freePort();
    const adminPort = await freePort();
    const doc = {
      listen: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: adminPort, token: TOKEN },
      state: { store: 'file', path: `${dir}/state.json` },
      log: { level: 'warn' },
      services: {
        web: {
          routes: [{ host: '*', pathPrefix: '/' }],
          pools: { blue: [{ id: blue.id, url: blue.url }], green: [{ id: green.id, url: green.url }] },
          split: { blue: 100, green: 0 },
          mirror: { pool: 'green', percent: 100 },
        },
      },
    };
    const file = await writeYaml(dir, 'turnout.yaml', doc);
    const cli = (...args: string[]) => runCli([...args, '--admin', `http://127.0.0.1:${adminPort}`, '--token', TOKEN]);
    const proxy = `http://127.0.0.1:${port}`;

    let proc = spawnTurnout(['serve', '--config', file]);
    await waitReady(proc, adminPort);
    expect((await get(`${proxy}/one`)).headers['x-backend']).toBe('blue-1');
    await until('a copy of /one at green', () => copies.includes('/one 1'), 3000);

    const bad = await cli('mirror', 'web', 'green', '150');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400 invalid_request: .*percent/);
    const unknown = await cli('mirror', 'web', 'red', '10');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/400 invalid_request: mirror\.pool names unknown pool "red"/);
    expect((await cli('mirror', 'web', 'green', 'lots')).code).toBe(2);
    expect((await cli('mirror', 'web')).code).toBe(2);

    const set = await cli('mirror', 'web', 'green', '50', '--methods', 'get,post', '--max-in-flight', '7');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/web: 50% of GET, POST requests copied to green \(at most 7 in flight/);
    const status = await cli('status', 'web');
    expect(status.stdout).toContain('mirror: 50% of GET, POST copied to green');

    // A reload reads the file again (which still says 100 %): the store owns the mirror, as it owns the split.
    const reload = await cli('reload');
    expect(reload.code, reload.stderr).toBe(0);
    const afterReload = await adminCall(adminPort, TOKEN, 'GET', '/v1/services/web');
    expect(afterReload.body.service.mirror).toMatchObject({ pool: 'green', percent: 50, maxInFlight: 7 });

    // A restart on the same state file keeps it too.
    proc.child.kill('SIGTERM');
    await waitExit(proc);
    proc = spawnTurnout(['serve', '--config', file]);
    await waitReady(proc, adminPort);
    expect((await adminCall(adminPort, TOKEN, 'GET', '/v1/services/web')).body.service.mirror).toMatchObject({ pool: 'green', percent: 50 });

    const off = await cli('mirror', 'web', '--off');
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/web: mirroring off \(revision \d+\)/);
    const n = copies.length;
    for (let i = 0; i < 5; i++) await get(`${proxy}/after-off`);
    await new Promise((r) => setTimeout(r, 200));
    expect(copies.length).toBe(n);
    expect((await cli('mirror', 'web', '--off')).code).toBe(1);
  }, 60_000);
});
