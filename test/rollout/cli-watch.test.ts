import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { expectFreshCliBuild, runCli } from '../helpers/cli.js';
import { steadyLoad } from '../helpers/http.js';
import { TOKEN, api, startTestTurnout } from '../helpers/turnout.js';
import { twoPools, waitRollout } from './helpers.js';

test('turnout rollout --file follows the checks, says at a manual gate which command continues it, and exits 0 once resumed and promoted', async () => {
  expectFreshCliBuild();
  const t = await startTestTurnout(twoPools(await startBackend('stable-1'), await startBackend('canary-1')));
  const dir = mkdtempSync(join(tmpdir(), 'turnout-rollout-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rollout.json');
  writeFileSync(file, JSON.stringify({ steps: [50, { pause: true }, 100], stepDuration: '1s', gates: { baseline: { maxErrorRateIncrease: 0.01 }, minRequests: 3 } }));
  const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 15_000 });
  const cli = runCli(['rollout', 'web', 'canary', '--file', file, '--admin', t.adminUrl, '--token', TOKEN], { timeoutMs: 15_000 });
  const paused = await waitRollout(t, ['paused'], 6000);
  expect(paused.state).toBe('paused');
  await new Promise((r) => setTimeout(r, 800)); // the CLI polls every 500 ms: let it see the pause
  expect((await api(t, 'POST', '/v1/services/web/rollouts/current/resume')).status).toBe(200);
  const r = await cli;
  await load.stop();
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/web\/canary: check step 1 \(50%\): passed · canary \d+ req, err 0%, p99 [\d.]+ms · stable \d+ req, err 0%, p99 [\d.]+ms \(increase max 1%\)/);
  expect(r.stdout).toContain('web/canary: paused at a manual gate: continue with turnout rollout-resume web');
  expect(r.stdout).toContain('web/canary: promoted (100%)');
});
