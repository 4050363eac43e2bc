import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { accepts, freePort, tempDir } from '../helpers/serve.js';
import { MISTAKES, validDoc } from './mistakes.js';
import type { ConfigDoc, Mistake } from './mistakes.js';

// `turnout serve` with a bad config exits 2 before binding any port, and stderr names the file,
// the key path and what was expected. Each case is a real child process (the built bin).

const CLI_ONLY: readonly Mistake[] = [
  {
    name: 'admin on 0.0.0.0 with no token',
    mutate: (d: ConfigDoc) => {
      d.admin.host = '0.0.0.0';
    },
    path: 'admin.host',
    expected: /"0\.0\.0\.0" is not a loopback address and no admin token is set/,
  },
];

// One at a time: each is a node start-up, and on two cores a burst of them starves the serve tests.
describe('turnout serve refuses a bad config with exit 2', () => {
  test.for([...MISTAKES, ...CLI_ONLY])('$name', async (m) => {
    const dir = await tempDir();
    const [listenPort, adminPort] = [await freePort(), await freePort()];
    const doc = validDoc(listenPort, adminPort);
    m.mutate?.(doc);
    const file = join(dir, 'turnout.yaml');
    await writeFile(file, m.text ?? stringify(doc));

    const r = await runCli(['serve', '--config', file], { env: m.env ?? {}, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`invalid config ${file}`);
    if (m.path !== undefined) expect(r.stderr).toContain(`${m.path}: `);
    expect(r.stderr).toMatch(m.expected);
    // Nothing started: no log line (the logger comes after validation) and nothing listens.
    expect(r.stdout).toBe('');
    expect(await accepts(listenPort)).toBe(false);
    expect(await accepts(adminPort)).toBe(false);
  });

  test('a config file that does not exist', async () => {
    const dir = await tempDir();
    const file = join(dir, 'missing.yaml');
    const r = await runCli(['serve', '--config', file], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`invalid config ${file}`);
    expect(r.stderr).toMatch(/cannot read the file: ENOENT: no such file or directory/);
    expect(r.stdout).toBe('');
  });
});
