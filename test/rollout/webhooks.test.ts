import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { runCli } from '../helpers/cli.js';
import { steadyLoad } from '../helpers/http.js';
import { TOKEN, api, startTestTurnout } from '../helpers/turnout.js';
import { sleep } from '../helpers/time.js';
import { erring, startHookServer, twoPools, waitRollout } from './helpers.js';

const PAYLOAD_KEYS = ['metadata', 'percent', 'pool', 'readings', 'rollout', 'service', 'step', 'type'];

describe('rollout webhooks (a real HTTP server records the calls)', () => {
  test('a failing pre-rollout hook: the rollout ends aborted with its answer, and the canary never gets a request', async () => {
    const hooks = await startHookServer(() => 500);
    const canary = await startBackend('canary-1');
    const t = await startTestTurnout(twoPools(await startBackend('stable-1'), canary));
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 5000 });
    const r = await api(t, 'POST', '/v1/services/web/rollouts', {
      pool: 'canary',
      steps: [50, 100],
      stepDuration: '1s',
      webhooks: [{ name: 'smoke', type: 'pre-rollout', url: `${hooks.url}/smoke?token=s3cret`, metadata: { suite: 'checkout' } }],
    });
    await sleep(500);
    await load.stop();
    expect(r.status).toBe(201);
    expect(r.body.rollout).toMatchObject({ state: 'aborted', reason: 'pre-rollout webhook "smoke" answered 500' });
    expect(r.body.rollout.webhooks).toEqual([{ name: 'smoke', type: 'pre-rollout', url: `${hooks.url}/smoke`, timeout: '10s' }]);
    expect(canary.hits).toBe(0);
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 100, canary: 0 });
    expect(hooks.calls).toHaveLength(1);
    expect(hooks.calls[0]?.path).toBe('/smoke?token=s3cret');
    expect(Object.keys(hooks.calls[0]?.body ?? {}).sort()).toEqual(PAYLOAD_KEYS);
    expect(hooks.calls[0]?.body).toMatchObject({ service: 'web', pool: 'canary', type: 'pre-rollout', step: 1, percent: 50, metadata: { suite: 'checkout' } });
    const events = JSON.stringify((await api(t, 'GET', '/v1/services/web/events')).body.events);
    expect(events).toContain('pre-rollout webhook \\"smoke\\" answered 500');
    expect(events).not.toContain('s3cret');
  });

  test('confirm-promotion answering 403 three times, then 200: held before the last step, then promoted', async () => {
    const hooks = await startHookServer((c, calls) => (c.body.type === 'confirm-promotion' && calls.filter((x) => x.body.type === 'confirm-promotion').length <= 3 ? 403 : 200));
    const t = await startTestTurnout(twoPools(await startBackend('stable-1'), await startBackend('canary-1')));
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 15_000 });
    await api(t, 'POST', '/v1/services/web/rollouts', {
      pool: 'canary',
      steps: [50, 100],
      stepDuration: '1s',
      webhooks: [{ name: 'human', type: 'confirm-promotion', url: `${hooks.url}/confirm` }],
    });
    const held = await waitRollout(t, ['nothing'], 2500);
    expect(held).toMatchObject({ state: 'running', step: 1, percent: 50, awaitingConfirmation: true });
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 10_000);
    await load.stop();
    expect(r.state).toBe('promoted');
    const asked = hooks.calls.filter((c) => c.body.type === 'confirm-promotion');
    expect(asked).toHaveLength(4);
    const answers = r.results.flatMap((x: any) => (x.readings.webhooks ?? []).map((w: any) => w.status));
    expect(answers).toEqual([403, 403, 403, 200]);
    expect(r.results.map((x: any) => x.percent)).toEqual([50, 50, 50, 50, 100]);
  });

  test('post-rollout and rollback hooks are told once each, with the documented payload; event hooks hear every transition', async () => {
    const hooks = await startHookServer();
    const bad = { now: false };
    const t = await startTestTurnout(twoPools(await startBackend('stable-1'), await startBackend('canary-1', erring(0, 0, () => bad.now))));
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 15_000 });
    const webhooks = [
      { name: 'deployed', type: 'post-rollout', url: `${hooks.url}/post` },
      { name: 'undo', type: 'rollback', url: `${hooks.url}/rollback` },
      { name: 'chat', type: 'event', url: `${hooks.url}/event` },
    ];
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '1s', webhooks });
    const promoted = await waitRollout(t, ['promoted', 'rolled_back'], 8000);
    expect(promoted.state).toBe('promoted');
    await api(t, 'POST', '/v1/services/web/flip', { to: 'stable' });
    bad.now = true;
    await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [50, 100], stepDuration: '1s', webhooks });
    const rolled = await waitRollout(t, ['rolled_back', 'promoted'], 8000);
    await sleep(800);
    await load.stop();
    expect(rolled.state).toBe('rolled_back');
    const post = hooks.calls.filter((c) => c.path === '/post');
    const back = hooks.calls.filter((c) => c.path === '/rollback');
    expect(post).toHaveLength(1);
    expect(back).toHaveLength(1);
    for (const c of [...post, ...back]) expect(Object.keys(c.body).sort()).toEqual(PAYLOAD_KEYS);
    expect(post[0]?.body).toMatchObject({ service: 'web', pool: 'canary', rollout: promoted.id, type: 'post-rollout', step: 2, percent: 100, metadata: {} });
    expect(back[0]?.body).toMatchObject({ rollout: rolled.id, type: 'rollback', step: 1, percent: 50 });
    expect(back[0]?.body.readings.canary.errors).toBeGreaterThan(0);
    // start, step, promoted; start, rolled back
    expect(hooks.calls.filter((c) => c.path === '/event')).toHaveLength(5);
    const last = (await api(t, 'GET', '/v1/services/web/rollouts/current')).body.rollout;
    expect(last.hookAnswers).toEqual([expect.objectContaining({ name: 'undo', type: 'rollback', status: 200 })]);
    const history = (await api(t, 'GET', '/v1/services/web/history')).body.history.map((h: { action: string }) => h.action);
    expect(history.filter((a: string) => a === 'rollout_webhook')).toHaveLength(2);
  });
});

describe('pause steps', () => {
  test('a timed pause holds that long; {"pause": true} holds until turnout rollout-resume', async () => {
    const t = await startTestTurnout(twoPools(await startBackend('stable-1'), await startBackend('canary-1')));
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 15_000 });
    const start = await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [20, { pause: '2s' }, 50, { pause: true }, 100], stepDuration: '1s' });
    expect(start.body.rollout).toMatchObject({ steps: [20, 50, 100], pauses: [{ before: 1, duration: '2s' }, { before: 2 }] });
    const timed = await waitRollout(t, ['paused'], 3000);
    expect(timed).toMatchObject({ state: 'paused', percent: 20, pause: { before: 1 } });
    const heldFor = Date.parse(timed.pause.until) - Date.parse(timed.results[0].at);
    expect(heldFor).toBe(2000);
    await sleep(1000);
    expect((await api(t, 'GET', '/v1/services/web/rollouts/current')).body.rollout.state).toBe('paused');
    const manual = await waitRollout(t, ['nothing'], 4000).then(() => api(t, 'GET', '/v1/services/web/rollouts/current'));
    expect(manual.body.rollout).toMatchObject({ state: 'paused', percent: 50, pause: { before: 2, continueWith: expect.stringContaining('turnout rollout-resume web') } });
    expect(manual.body.rollout.pause.until).toBeUndefined();
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 50, canary: 50 });
    const cli = await runCli(['rollout-resume', 'web', '--admin', t.adminUrl, '--token', TOKEN]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^web: rollout running at step 3 \(100%\)/);
    const r = await waitRollout(t, ['promoted', 'rolled_back'], 4000);
    await load.stop();
    expect(r.state).toBe('promoted');
    const history = (await api(t, 'GET', '/v1/services/web/history')).body.history.map((h: { action: string }) => h.action).reverse();
    expect(history).toEqual(['rollout_start', 'rollout_paused', 'rollout_step', 'rollout_paused', 'rollout_resume', 'rollout_promoted']);
  });
});
