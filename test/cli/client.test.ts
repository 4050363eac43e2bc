import { beforeAll, expect, test } from 'vitest';
import type { Turnout } from '../../src/app.js';
import { expectFreshCliBuild, runCli } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { deadPort } from '../helpers/backends.js';
import { READ_TOKEN, TOKEN, api } from '../helpers/turnout.js';
import { startPools } from '../helpers/admin.js';

// `dark` has no backend: shares for it are refused (409).
const POOLS = { blue: ['blue-1', 'blue-2'], green: ['green-1'], dark: [] };

beforeAll(expectFreshCliBuild);

/** Runs the CLI against `t` with --admin and --token (unless `token` is null). */
function cli(t: Turnout, args: string[], token: string | null = TOKEN, env: Record<string, string> = {}): Promise<CliResult> {
  return runCli([...args, '--admin', t.adminUrl, ...(token === null ? [] : ['--token', token])], { env });
}

/** Runs the commands a few at a time: each is a process, and this machine has 2 cores. */
async function inBatches(runs: (() => Promise<CliResult>)[], size = 3): Promise<CliResult[]> {
  const out: CliResult[] = [];
  for (let i = 0; i < runs.length; i += size) out.push(...(await Promise.all(runs.slice(i, i + size).map((r) => r()))));
  return out;
}

function ok(r: CliResult): string {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r.stdout;
}

test('status: services, splits and backends; status SVC for one; --json prints the API answer', async () => {
  const { t, backends } = await startPools(POOLS);
  const [all, one, json] = await Promise.all([cli(t, ['status']), cli(t, ['status', 'web']), cli(t, ['status', '--json'])]);
  const out = ok(all);
  expect(out).toMatch(/^revision 1\n/);
  expect(out).toContain('web  split: blue 100%, green 0%, dark 0%');
  expect(out).toMatch(/blue-1\s+http:\/\/127\.0\.0\.1:\d+\s+w=100\s+active unknown\s+in-flight 0/);
  expect(out).toContain(backends['green-1']?.url);
  expect(out).toContain('(no backends)');
  expect(ok(one)).toBe(out);
  const parsed = JSON.parse(ok(json));
  expect(parsed).toEqual((await api(t, 'GET', '/v1/services')).body);
});

test('flip: exit 0 and the new split; --json is the API answer; --dry-run changes nothing', async () => {
  const { t } = await startPools(POOLS);
  expect(ok(await cli(t, ['flip', 'web', 'green', '--dry-run']))).toBe('(dry run) web: blue 0%, green 100%, dark 0% (revision 2)\n');
  expect((await api(t, 'GET', '/v1/services/web')).body.revision).toBe(1);
  expect(ok(await cli(t, ['flip', 'web', 'green']))).toBe('web: blue 0%, green 100%, dark 0% (revision 2)\n');
  const json = JSON.parse(ok(await cli(t, ['flip', 'web', 'blue', '--json'])));
  expect(json).toEqual((await api(t, 'GET', '/v1/services/web')).body);
  expect(json.revision).toBe(3);
  const waited = ok(await cli(t, ['flip', 'web', 'green', '--wait']));
  expect(waited).toBe('web: blue 0%, green 100%, dark 0% (revision 4); old pools drained\n');
});

test('canary and rollback: exit 0 with the split; PERCENT takes decimals and a % sign', async () => {
  const { t } = await startPools(POOLS);
  expect(ok(await cli(t, ['canary', 'web', 'green', '10']))).toBe('web: blue 90%, green 10%, dark 0% (revision 2)\n');
  expect(ok(await cli(t, ['canary', 'web', 'green', '12.5%']))).toBe('web: blue 87.5%, green 12.5%, dark 0% (revision 3)\n');
  expect(ok(await cli(t, ['rollback', 'web']))).toBe('web: blue 90%, green 10%, dark 0% (revision 4)\n');
  const json = JSON.parse(ok(await cli(t, ['rollback', 'web', '--json'])));
  expect(json).toMatchObject({ revision: 5, service: { split: { blue: 100, green: 0, dark: 0 } } });
});

test('register and deregister (plain, --wait, --json): exit 0 and what happened', async () => {
  const { t } = await startPools(POOLS);
  const url = `http://127.0.0.1:${await deadPort()}`;
  const reg = ok(await cli(t, ['register', 'web', 'green', 'green-9', url, '--weight', '50']));
  expect(reg).toBe(`registered web/green/green-9 ${url} weight 50, health unknown (revision 2)\n`);
  const b = await api(t, 'GET', '/v1/services/web/pools/green/backends/green-9');
  expect(b.body.backend).toMatchObject({ url, weight: 50, state: 'active' });
  const regJson = JSON.parse(ok(await cli(t, ['register', 'web', 'green', 'green-8', url, '--json'])));
  expect(regJson).toMatchObject({ revision: 3, backend: { id: 'green-8', weight: 100 } });

  const dereg = ok(await cli(t, ['deregister', 'web', 'green', 'green-9', '--timeout', '10s']));
  expect(dereg).toMatch(/^draining web\/green\/green-9: 0 in flight, deadline \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);

  const waited = ok(await cli(t, ['deregister', 'web', 'blue', 'blue-2', '--wait']));
  expect(waited).toMatch(/^removed web\/blue\/blue-2 after \d+\.\ds\n$/);
  expect((await api(t, 'GET', '/v1/services/web/pools/blue/backends/blue-2')).status).toBe(404);

  const json = JSON.parse(ok(await cli(t, ['deregister', 'web', 'green', 'green-8', '--wait', '--json'])));
  const now = await api(t, 'GET', '/v1/services/web');
  expect(json).toMatchObject({ revision: now.body.revision, removed: true, backend: { id: 'green-8', state: 'draining', inFlight: 0 } });
  expect(now.body.service.pools.green.backends.map((x: { id: string }) => x.id)).not.toContain('green-8');
});

test('history: one line per change with action and actor (--actor recorded); --json is the API answer', async () => {
  const { t } = await startPools(POOLS);
  expect(ok(await cli(t, ['history', 'web']))).toBe('no changes yet\n');
  ok(await cli(t, ['flip', 'web', 'green', '--actor', 'alice']));
  ok(await cli(t, ['canary', 'web', 'blue', '5']));
  const lines = ok(await cli(t, ['history', 'web'])).trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^\s+3\s+\S+Z\s+canary\s+ci\s+blue 0%, green 100%, dark 0% → blue 5%, green 95%, dark 0%$/);
  expect(lines[1]).toMatch(/^\s+2\s+\S+Z\s+flip\s+ci \(alice\)\s+blue 100%, green 0%, dark 0% → blue 0%, green 100%, dark 0%$/);
  const json = JSON.parse(ok(await cli(t, ['history', 'web', '--json'])));
  expect(json).toEqual((await api(t, 'GET', '/v1/services/web/history')).body);
  expect(json.revision).toBe(3);
});

test('bad usage exits 2 with a message on stderr and nothing on stdout, without touching the state', async () => {
  const { t } = await startPools(POOLS);
  const cases: string[][] = [
    ['frobnicate', 'web'],
    ['flip'],
    ['flip', 'web'],
    ['canary', 'web', 'green'],
    ['canary', 'web', 'green', 'abc'],
    ['canary', 'web', 'green', '150'],
    ['canary', 'web', 'green', '-5'],
    ['rollback'],
    ['register', 'web', 'green', 'green-9'],
    ['register', 'web', 'green', 'green-9', 'http://127.0.0.1:1', '--weight', '2000'],
    ['deregister', 'web', 'blue', 'blue-1', '--timeout', 'soon'],
    ['status', '--bogus'],
    ['flip', 'web', 'green', '--weight'],
  ];
  const results = await inBatches(cases.map((args) => () => cli(t, args)));
  results.forEach((r, i) => {
    const label = cases[i]?.join(' ');
    expect({ label, code: r.code, stdout: r.stdout }).toEqual({ label, code: 2, stdout: '' });
    expect(r.stderr, label).toMatch(/^turnout: \S[\s\S]*\nRun "turnout --help" for usage\.\n$/);
  });
  const stderrOf = (label: string): string | undefined => results[cases.findIndex((c) => c.join(' ') === label)]?.stderr;
  expect(stderrOf('frobnicate web')).toContain('unknown command "frobnicate"');
  expect(stderrOf('flip web')).toContain('flip takes SVC POOL');
  expect(stderrOf('canary web green 150')).toContain('PERCENT must be a number 0..100, got "150"');
  expect(stderrOf('register web green green-9 http://127.0.0.1:1 --weight 2000')).toContain('--weight must be an integer 0..1000');
  expect(stderrOf('status --bogus')).toContain("'--bogus'");
  expect((await api(t, 'GET', '/v1/services')).body.revision).toBe(1);

  const help = await runCli(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Exit codes: 0 success, 1 refused or failed call, 2 bad usage.');
});

test('a refused or failed call exits 1 with the API message on stderr', async () => {
  const { t } = await startPools(POOLS);
  const [unknownPool, emptyPool, wrongToken, noToken, readOnly, unknownSvc, dup] = (await inBatches([
    () => cli(t, ['flip', 'web', 'purple']),
    () => cli(t, ['canary', 'web', 'dark', '5']),
    () => cli(t, ['status'], 'nope'),
    () => cli(t, ['status'], null),
    () => cli(t, ['flip', 'web', 'green'], READ_TOKEN),
    () => cli(t, ['rollback', 'nope']),
    () => cli(t, ['register', 'web', 'green', 'blue-1', 'http://127.0.0.1:1']),
  ])) as [CliResult, CliResult, CliResult, CliResult, CliResult, CliResult, CliResult];
  const refused = (r: CliResult, line: string): void => {
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 1, stdout: '', stderr: `turnout: ${line}\n` });
  };
  refused(unknownPool, '404 not_found: pool "purple" does not exist in service "web" (pools: blue, green, dark)');
  refused(emptyPool, '409 conflict: pool "dark" has no eligible backend; add or heal one, or use ?force=true');
  refused(wrongToken, '401 unauthorized: a valid bearer token is required');
  refused(noToken, '401 unauthorized: a valid bearer token is required');
  refused(readOnly, '403 forbidden: token "viewer" has read scope; writes need a write token');
  refused(unknownSvc, '404 not_found: service "nope" does not exist');
  refused(dup, '409 conflict: backend "blue-1" already exists in web/blue');

  const port = await deadPort();
  const down = await runCli(['status', '--admin', `http://127.0.0.1:${port}`, '--token', TOKEN]);
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(/^turnout: cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\n$/);
  expect((await api(t, 'GET', '/v1/services')).body.revision).toBe(1);
});

test('TURNOUT_ADMIN_URL and TURNOUT_ADMIN_TOKEN stand in for --admin and --token; flags win over them', async () => {
  const { t } = await startPools(POOLS);
  const env = { TURNOUT_ADMIN_URL: t.adminUrl, TURNOUT_ADMIN_TOKEN: TOKEN };
  const status = await runCli(['status', '--json'], { env });
  expect(JSON.parse(ok(status)).revision).toBe(1);
  expect(ok(await runCli(['flip', 'web', 'green'], { env }))).toBe('web: blue 0%, green 100%, dark 0% (revision 2)\n');
  const bad = { TURNOUT_ADMIN_URL: 'http://127.0.0.1:1', TURNOUT_ADMIN_TOKEN: 'wrong' };
  expect(ok(await runCli(['status', 'web', '--admin', t.adminUrl, '--token', TOKEN], { env: bad }))).toMatch(/^revision 2\n/);
  const noToken = await runCli(['status'], { env: { TURNOUT_ADMIN_URL: t.adminUrl } });
  expect(noToken.code).toBe(1);
  expect(noToken.stderr).toBe('turnout: 401 unauthorized: a valid bearer token is required\n');
});
