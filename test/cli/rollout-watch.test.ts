import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { runCli } from '../helpers/cli.js';
import { steadyLoad } from '../helpers/http.js';
import { api, startTestTurnout, TOKEN } from '../helpers/turnout.js';

async function setup(canaryFails: boolean) {
  const stable = await startBackend('stable-1');
  const canary = await startBackend(
    'canary-1',
    canaryFails
      ? (_req, res) => {
          res.writeHead(503);
          res.end('no');
        }
      : undefined,
  );
  const t = await startTestTurnout({
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { stable: [{ id: 'stable-1', url: stable.url }], canary: [{ id: 'canary-1', url: canary.url }] },
        split: { stable: 100 },
        outlier: false,
      },
    },
  });
  return t;
}

describe('turnout rollout and status --watch', () => {
  test('rollout follows the canary to promotion and exits 0', async () => {
    const t = await setup(false);
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 15_000 });
    const r = await runCli(['rollout', 'web', 'canary', '--steps', '50,100', '--step-duration', '1s', '--min-requests', '3', '--admin', t.adminUrl, '--token', TOKEN], {
      timeoutMs: 20_000,
    });
    await load.stop();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('web/canary: step 1/2 50% running');
    expect(r.stdout).toContain('web/canary: promoted (100%)');
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 0, canary: 100 });
  });

  test('a rolled-back rollout exits 1 with the reason on stderr', async () => {
    const t = await setup(true);
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 15_000 });
    const r = await runCli(['rollout', 'web', 'canary', '--steps', '50,100', '--step-duration', '1s', '--admin', t.adminUrl, '--token', TOKEN], { timeoutMs: 20_000 });
    await load.stop();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/turnout: rollout rolled back: step 1 \(50%\): error rate 100% .* above maxErrorRate 1%/);
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 100, canary: 0 });
  });

  test.each([
    [['rollout', 'web', 'canary'], /rollout needs --steps/],
    [['rollout', 'web', 'canary', '--steps', '5,x'], /--steps must be percents/],
    [['rollout', 'web', 'canary', '--steps', '5', '--step-duration', 'soon'], /--step-duration must be a duration/],
    [['rollout', 'web', 'canary', '--steps', '5', '--max-error-rate', '3'], /--max-error-rate must be a fraction/],
    [['rollout', 'web'], /rollout takes SVC POOL/],
    [['status', '--watch', '--count', '0'], /--count must be a whole number/],
  ])('bad usage %j exits 2', async (args, msg) => {
    const r = await runCli([...args, '--admin', 'http://127.0.0.1:9', '--token', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });

  test('status --watch prints live traffic snapshots', async () => {
    const t = await setup(false);
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 10_000 });
    const r = await runCli(['status', '--watch', '--count', '2', '--admin', t.adminUrl, '--token', TOKEN], { timeoutMs: 15_000 });
    const json = await runCli(['status', 'web', '--watch', '--count', '1', '--json', '--admin', t.adminUrl, '--token', TOKEN], { timeoutMs: 15_000 });
    await load.stop();
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^revision 1 · /gm)).toHaveLength(2);
    expect(r.stdout).toMatch(/web {2}[\d.]+ req\/s/);
    expect(r.stdout).toMatch(/stable\s+100%\s+[\d.]+/);
    expect(r.stdout).toMatch(/stable-1\s+[\d.]+\s+0\.00%/);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout.trim()).services[0].name).toBe('web');
    const denied = await runCli(['status', '--watch', '--count', '1', '--admin', t.adminUrl, '--token', 'wrong']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/401/);
  });
});
