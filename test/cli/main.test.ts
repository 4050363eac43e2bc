import { readFileSync } from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import { expectFreshCliBuild, runCli } from '../helpers/cli.js';
import { freePort, spawnTurnout, tempDir, waitExit, waitReady, writeYaml } from '../helpers/serve.js';

beforeAll(expectFreshCliBuild);

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

test.each([['--version'], ['version']])('turnout %s prints the version in package.json', async (arg) => {
  const r = await runCli([arg]);
  expect(r).toEqual({ code: 0, stdout: `turnout ${VERSION}\n`, stderr: '' });
});

// Regression: `-c` was documented but only `--config` reached serve ("unknown command \"-c\"").
test('turnout -c FILE runs the proxy on FILE, as serve is the default command; SIGTERM stops it with 0', async () => {
  const dir = await tempDir();
  const adminPort = await freePort();
  const configFile = await writeYaml(dir, 'turnout.yaml', {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: adminPort },
    state: { store: 'memory' },
    log: { level: 'warn' },
    services: { web: { routes: [{ host: '*' }], pools: { blue: [] } } },
  });
  const proc = spawnTurnout(['-c', configFile], { env: { TURNOUT_ADMIN_TOKEN: 't' } });
  await waitReady(proc, adminPort);
  proc.child.kill('SIGTERM');
  expect((await waitExit(proc)).code).toBe(0);
});

test.each([
  [['-c', 'missing.yaml'], 'invalid config missing.yaml'],
  [['--config', 'missing.yaml'], 'invalid config missing.yaml'],
  [['serve', '-c', 'missing.yaml'], 'invalid config missing.yaml'],
])('turnout %j reaches serve: a config it cannot read exits 2', async (args, message) => {
  const r = await runCli(args, { cwd: await tempDir() });
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
  expect(r.stderr).toContain(message);
});

test.each([[['-c']], [['--reset-state', 'extra']], [['serve', '--admin', 'http://127.0.0.1:1']]])('turnout %j is bad usage: exit 2', async (args) => {
  const r = await runCli(args);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
  expect(r.stderr).toMatch(/^turnout: \S[\s\S]*\nRun "turnout --help" for usage\.\n$/);
});
