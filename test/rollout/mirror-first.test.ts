import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import type { TestBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { steadyLoad } from '../helpers/http.js';
import { PROCESS_MODELS, api, startTestTurnout } from '../helpers/turnout.js';
import { waitRollout } from './helpers.js';

// SPEC "Rollouts" (mirror first) on SPEC "Mirroring": before step 1 the canary gets only copies of
// live traffic, judged on their answers (step 0 in the results), while the clients get only the
// stable pool's answers; the copies stop when the phase ends, passed or failed.

interface Seen {
  readonly at: number;
  readonly mirror: string | undefined;
}

/** A backend that records when each request came and its X-Turnout-Mirror, then answers 200 (copies: `mirrorStatus`, after `mirrorDelayMs`). */
async function recording(id: string, mirrorStatus = 200, mirrorDelayMs = 0): Promise<{ backend: TestBackend; seen: Seen[] }> {
  const seen: Seen[] = [];
  const backend = await startBackend(id, (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const mirror = req.headers['x-turnout-mirror'] as string | undefined;
      seen.push({ at: Date.now(), mirror });
      const status = mirror === '1' ? mirrorStatus : 200;
      const body = JSON.stringify({ backend: id });
      const send = (): void => {
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': id });
        res.end(body);
      };
      if (mirror === '1' && mirrorDelayMs > 0) setTimeout(send, mirrorDelayMs);
      else send();
    });
  });
  return { backend, seen };
}

async function setup(greenMirrorStatus = 200, workers: number | undefined = undefined, greenMirrorDelayMs = 0) {
  const blue = await recording('blue-1');
  const green = await recording('green-1', greenMirrorStatus, greenMirrorDelayMs);
  const t = await startTestTurnout(webService({ blue: [blue.backend], green: [green.backend] }, { split: { blue: 100, green: 0 } }), { workers });
  return { t, blue, green };
}

describe('mirror-first rollouts (real proxy, real backends, real copies)', () => {
  // With workers the copies go out of the worker processes; their answers reach the rollout through the outcome relay.
  test.each(PROCESS_MODELS)('a good green ($name): copies only for the mirror phase (clients get blue), then the canary steps, promoted, the mirror off', async ({ workers }) => {
    const { t, blue, green } = await setup(200, workers);
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 25_000, maxRequests: 200_000 });
    const start = await api(t, 'POST', '/v1/services/web/rollouts', {
      pool: 'green',
      steps: [50, 100],
      stepDuration: '1s',
      mirror: { percent: 100, duration: '2s' },
      gates: { minRequests: 10, maxWait: '5s' },
    });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    expect(start.body.rollout.mirroring).toBe(true);
    expect(start.body.rollout.mirror).toEqual({ percent: 100, duration: '2s' });
    // The mirror is on, no real traffic moved.
    const during = (await api(t, 'GET', '/v1/services/web')).body.service;
    expect(during.mirror).toMatchObject({ pool: 'green', percent: 100 });
    expect(during.split).toEqual({ blue: 100, green: 0 });

    const r = await waitRollout(t, ['promoted', 'rolled_back', 'aborted'], 20_000);
    const results = await load.stop();
    expect(r.state, r.reason).toBe('promoted');
    expect(r.mirroring).toBeUndefined();
    // Step 0 is the mirror phase, judged on the copies; then steps 1 and 2.
    const steps = r.results.map((x: { step: number }) => x.step);
    expect(steps[0]).toBe(0);
    expect(steps).toContain(1);
    expect(steps).toContain(2);
    expect(r.results.every((x: { passed: boolean }) => x.passed)).toBe(true);
    const mirrorChecks = r.results.filter((x: { step: number }) => x.step === 0);
    expect(mirrorChecks.every((x: { percent: number }) => x.percent === 0)).toBe(true);
    const copiesJudged = mirrorChecks.reduce((n: number, x: { requests: number }) => n + x.requests, 0);
    expect(copiesJudged).toBeGreaterThanOrEqual(10);
    const phaseEnd = Date.parse(mirrorChecks[mirrorChecks.length - 1].at);
    const phaseStart = Date.parse(r.startedAt);
    // The phase held for its duration.
    expect(phaseEnd - phaseStart).toBeGreaterThanOrEqual(2000);

    // Until the phase ended green got copies only, and as many as the checks judged.
    // (Copies judged were answered by the last check; one stamped by green a millisecond past it counts too.)
    const greenBefore = green.seen.filter((s) => s.at < phaseEnd);
    expect(green.seen.filter((s) => s.mirror === '1').length).toBeGreaterThanOrEqual(copiesJudged);
    expect(greenBefore.every((s) => s.mirror === '1')).toBe(true);
    // Then real requests (step 1 at 50 %).
    expect(green.seen.some((s) => s.mirror === undefined)).toBe(true);
    expect(blue.seen.every((s) => s.mirror === undefined)).toBe(true);
    // Clients: every answer a 200; during the mirror phase only blue's.
    expect(results.length).toBeGreaterThan(50);
    expect(results.filter((x) => x.status !== 200)).toEqual([]);
    const inPhase = results.filter((x) => x.endedAt < phaseEnd);
    expect(inPhase.length).toBeGreaterThan(10);
    expect(inPhase.every((x) => x.backend === 'blue-1')).toBe(true);
    expect(results.some((x) => x.backend === 'green-1')).toBe(true);

    // The mirror is off: no mirror on the service, green has it all.
    const after = (await api(t, 'GET', '/v1/services/web')).body.service;
    expect(after.mirror).toBeUndefined();
    expect(after.split).toEqual({ blue: 0, green: 100 });
    const actions = (await api(t, 'GET', '/v1/services/web/history')).body.history.map((h: { action: string }) => h.action);
    expect(actions).toContain('mirror');
    expect(actions).toContain('mirror_off');
  });

  test('a bad green (500 to the copies): rolled back in the mirror phase, never a real request, the mirror off, clients saw no error', async () => {
    const { t, blue, green } = await setup(500);
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 20_000, maxRequests: 200_000 });
    const start = await api(t, 'POST', '/v1/services/web/rollouts', {
      pool: 'green',
      steps: [50, 100],
      stepDuration: '1s',
      mirror: { percent: 100, duration: '3s' },
      gates: { minRequests: 10, maxWait: '5s' },
    });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const r = await waitRollout(t, ['promoted', 'rolled_back', 'aborted'], 15_000);
    // A little more load after the end: still no real request to green.
    const settle = Date.now() + 500;
    while (Date.now() < settle) await new Promise((resolve) => setTimeout(resolve, 50));
    const results = await load.stop();
    expect(r.state).toBe('rolled_back');
    expect(r.reason).toMatch(/^mirror \(100% copied\): error rate 100% \(\d+\/\d+\) above maxErrorRate 1%$/);
    expect(r.results.map((x: { step: number }) => x.step)).toEqual([0]);
    expect(r.results[0].passed).toBe(false);

    expect(green.seen.length).toBeGreaterThanOrEqual(10);
    expect(green.seen.every((s) => s.mirror === '1')).toBe(true);
    expect(blue.seen.every((s) => s.mirror === undefined)).toBe(true);
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((x) => x.status !== 200 || x.backend !== 'blue-1')).toEqual([]);

    const after = (await api(t, 'GET', '/v1/services/web')).body.service;
    expect(after.mirror).toBeUndefined();
    expect(after.split).toEqual({ blue: 100, green: 0 });
    // No copy either once the mirror was off (allowing for those in flight).
    const endedAt = Date.parse(r.endedAt);
    expect(green.seen.filter((s) => s.at > endedAt + 300)).toEqual([]);
  });

  test('a slow green (1 s to the copies) fails maxP99Ms on the mirrored p99, the clients never waiting for it', async () => {
    const { t, green } = await setup(200, undefined, 1000);
    const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 20_000, maxRequests: 200_000 });
    const start = await api(t, 'POST', '/v1/services/web/rollouts', {
      pool: 'green',
      steps: [50, 100],
      stepDuration: '1s',
      mirror: { percent: 100, duration: '2s' },
      gates: { minRequests: 5, maxWait: '5s', maxP99Ms: 500 },
    });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const r = await waitRollout(t, ['promoted', 'rolled_back', 'aborted'], 15_000);
    const results = await load.stop();
    expect(r.state).toBe('rolled_back');
    const m = /^mirror \(100% copied\): p99 (\d+(?:\.\d+)?)ms above maxP99Ms 500ms$/.exec(r.reason);
    expect(m, r.reason).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(990);
    expect(green.seen.every((s) => s.mirror === '1')).toBe(true);
    expect(results.filter((x) => x.status !== 200 || x.backend !== 'blue-1')).toEqual([]);
    // The clients' answers never waited for a copy (those before the rollout include the cold start).
    const began = Date.parse(r.startedAt);
    const took = results.filter((x) => x.startedAt >= began).map((x) => x.endedAt - x.startedAt).sort((a, b) => a - b);
    expect(took.length).toBeGreaterThan(20);
    expect(took[Math.floor(took.length * 0.99)]).toBeLessThan(500);
    expect((await api(t, 'GET', '/v1/services/web')).body.service.mirror).toBeUndefined();
  });

  test('aborted during the mirror phase: the copies stop, no split moved', async () => {
    const { t, green } = await setup();
    const load = steadyLoad(t.proxyUrl, { connections: 2, maxMs: 15_000, maxRequests: 200_000 });
    const start = await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'green', steps: [50], stepDuration: '1s', mirror: { percent: 100, duration: '30s' } });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const deadline = Date.now() + 5000;
    while (green.seen.length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(green.seen.length).toBeGreaterThanOrEqual(5);
    const abort = await api(t, 'POST', '/v1/services/web/rollouts/current/abort');
    expect(abort.status, JSON.stringify(abort.body)).toBe(200);
    expect(abort.body.rollout.state).toBe('aborted');
    const after = (await api(t, 'GET', '/v1/services/web')).body.service;
    expect(after.mirror).toBeUndefined();
    expect(after.split).toEqual({ blue: 100, green: 0 });
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 600));
    await load.stop();
    expect(green.seen.filter((s) => s.at > stoppedAt + 300)).toEqual([]);
    expect(green.seen.every((s) => s.mirror === '1')).toBe(true);
  });

  test('the mirror stopped by hand during the phase: abort still ends the rollout (200), nothing to stop', async () => {
    const { t } = await setup();
    const start = await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'green', steps: [50], stepDuration: '1s', mirror: { percent: 100, duration: '30s' } });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    expect((await api(t, 'DELETE', '/v1/services/web/mirror')).status).toBe(200);
    const abort = await api(t, 'POST', '/v1/services/web/rollouts/current/abort');
    expect(abort.status, JSON.stringify(abort.body)).toBe(200);
    expect(abort.body.rollout.state).toBe('aborted');
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ blue: 100, green: 0 });
  });
});
