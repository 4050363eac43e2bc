import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { deadPort } from '../helpers/backends.js';
import { expectFreshCliBuild, runCli } from '../helpers/cli.js';
import { freePort, tempDir, writeYaml } from '../helpers/serve.js';

// Issue 19, acceptance 3: each bad `state` combination stops `turnout serve` (a real child process)
// with exit 2, naming the key path, before anything listens; a password in the URL is not echoed.

const SECRET = 'url-s3cret-19';

const CASES: readonly { name: string; state: (dir: string) => Record<string, unknown>; expected: RegExp }[] = [
  {
    name: 'url and sentinels together',
    state: () => ({ url: `redis://app:${SECRET}@127.0.0.1:6379`, sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'turnout' }),
    expected: /^ {2}- state\.sentinels: give either state\.url or state\.sentinels, not both$/m,
  },
  { name: 'sentinels without name', state: () => ({ sentinels: [{ host: '127.0.0.1', port: 26379 }] }), expected: /^ {2}- state\.name: required with state\.sentinels/m },
  { name: 'an unreadable TLS CA file', state: (dir) => ({ url: 'rediss://127.0.0.1:6380', tls: { ca: join(dir, 'missing-ca.pem') } }), expected: /^ {2}- state\.tls\.ca: cannot read the file: ENOENT$/m },
  {
    name: 'an unreadable client certificate and key',
    state: (dir) => ({ url: 'rediss://127.0.0.1:6380', tls: { cert: join(dir, 'missing.pem'), key: dir } }),
    expected: /^ {2}- state\.tls\.cert: cannot read the file: ENOENT\n {2}- state\.tls\.key: cannot read the file: EISDIR$/m,
  },
  { name: 'a certificate without its key', state: () => ({ url: 'rediss://127.0.0.1:6380', tls: { cert: '/etc/hostname' } }), expected: /^ {2}- state\.tls\.key: required with state\.tls\.cert$/m },
  { name: 'a sentinel without a port', state: () => ({ sentinels: [{ host: '127.0.0.1' }], name: 'turnout' }), expected: /^ {2}- state\.sentinels\[0\]\.port: required key is missing$/m },
];

describe('turnout serve refuses a bad state section with exit 2, naming the key', () => {
  beforeAll(() => expectFreshCliBuild());

  // One at a time: each is a node start-up.
  test.for(CASES)('$name', async (c) => {
    const dir = await tempDir();
    const [port, adminPort] = [await freePort(), await freePort()];
    const file = await writeYaml(dir, 'turnout.yaml', {
      listen: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: adminPort, token: 'x' },
      state: { store: 'redis', ...c.state(dir) },
      services: { web: { routes: [{ host: '*' }], pools: { blue: [] } } },
    });
    const r = await runCli(['serve', '--config', file], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`invalid config ${file}`);
    expect(r.stderr).toMatch(c.expected);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(r.stdout).toBe('');
  });

  test('sentinels that cannot be reached: exit 1 within the connect bound, naming the store', async () => {
    const dir = await tempDir();
    const [port, adminPort, sentinel] = [await freePort(), await freePort(), await deadPort()];
    const file = await writeYaml(dir, 'turnout.yaml', {
      listen: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: adminPort, token: 'x' },
      state: { store: 'redis', sentinels: [{ host: '127.0.0.1', port: sentinel }], name: 'turnout', password: SECRET, sentinelPassword: SECRET },
      services: { web: { routes: [{ host: '*' }], pools: { blue: [] } } },
    });
    const r = await runCli(['serve', '--config', file], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^turnout: cannot start: cannot reach redis: All sentinels are unreachable\\. .*\\(state\\.store redis via sentinels 127\\.0\\.0\\.1:${sentinel} \\(primary turnout\\)\\)\\n$`));
    expect(r.stderr + r.stdout).not.toContain(SECRET);
  });
});
