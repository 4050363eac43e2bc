import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { startTurnoutProcess } from '../helpers/process.js';
import { until } from '../helpers/time.js';

// Security: secrets never reach logs. With no admin token configured on a loopback admin
// listener, `turnout serve` generates one; the log names the file it is in (mode 0600), never the token.
test('a generated admin token is written to a 0600 file the log names, and never logged', async () => {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'turnout-rt-'));
  onTestFinished(() => rmSync(runtimeDir, { recursive: true, force: true }));
  const t = await startTurnoutProcess({ admin: { host: '127.0.0.1', port: 0 }, services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'a', url: 'http://127.0.0.1:9' }] } } } }, { env: { TURNOUT_RUNTIME_DIR: runtimeDir } });
  const lineOf = (): string | undefined =>
    t
      .output()
      .split('\n')
      .find((l) => l.includes('no admin token configured'));
  // Logged right after "turnout ready".
  await until('the generated-token line', async () => lineOf() !== undefined, 5000, 20);
  const line = lineOf();
  expect(line, t.output()).toBeDefined();
  const { tokenFile } = JSON.parse(line as string) as { tokenFile: string };
  expect(tokenFile.startsWith(runtimeDir)).toBe(true);
  expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  const token = readFileSync(tokenFile, 'utf8').trim();
  expect(token.length).toBeGreaterThanOrEqual(20);
  expect(t.output()).not.toContain(token);
  expect((await fetch(`${t.adminUrl}/v1/services`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  expect((await fetch(`${t.adminUrl}/v1/services`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
});
