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

// Issue 17: a worker's young generation is capped (node-flags.ts), and the cap is the operator's to change.
test('turnout serve forks its workers with --max-semi-space-size=16, TURNOUT_SEMI_SPACE_MIB changes it, and a bad value fails the start', async () => {
  const dir = await tempDir();
  const config = (adminPort: number): Promise<string> =>
    writeYaml(dir, `turnout-${adminPort}.yaml`, {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: adminPort },
      state: { store: 'memory' },
      log: { level: 'warn' },
      services: { web: { routes: [{ host: '*' }], pools: { blue: [] } } },
    });
  const workerArgs = async (env: Record<string, string>): Promise<string[]> => {
    const adminPort = await freePort();
    const proc = spawnTurnout(['serve', '-c', await config(adminPort), '--workers', '1'], { env: { TURNOUT_ADMIN_TOKEN: 't', ...env } });
    await waitReady(proc, adminPort);
    const fleet = (await (await fetch(`http://127.0.0.1:${adminPort}/v1/fleet`, { headers: { authorization: 'Bearer t' } })).json()) as { instances: { workers: { pid: number }[] }[] };
    const pid = fleet.instances[0]!.workers[0]!.pid;
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    proc.child.kill('SIGTERM');
    expect((await waitExit(proc)).code).toBe(0);
    return args;
  };
  expect(await workerArgs({})).toContain('--max-semi-space-size=16');
  expect(await workerArgs({ TURNOUT_SEMI_SPACE_MIB: '32' })).toContain('--max-semi-space-size=32');
  expect((await workerArgs({ TURNOUT_SEMI_SPACE_MIB: '0' })).some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);

  const bad = spawnTurnout(['serve', '-c', await config(await freePort()), '--workers', '1'], { env: { TURNOUT_ADMIN_TOKEN: 't', TURNOUT_SEMI_SPACE_MIB: '16m' } });
  const exit = await waitExit(bad);
  expect(exit.code).toBe(2);
  expect(bad.output.stderr).toMatch(/^turnout: cannot start: TURNOUT_SEMI_SPACE_MIB must be a whole number of MiB from 0 to 1024 \(0: V8's default\), not "16m"\n$/);
}, 60_000);
