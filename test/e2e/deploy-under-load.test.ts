import { describe, expect, test } from 'vitest';
import { Agent, request } from 'undici';
import { onTestFinished } from 'vitest';
import { startAppProcess } from '../helpers/app-process.js';
import { startTurnoutProcess } from '../helpers/process.js';
import { api, fleetWorkers } from '../helpers/api.js';
import type { AdminAt } from '../helpers/api.js';
import { sleep } from '../helpers/time.js';

interface Outcome {
  readonly startedAt: number;
  readonly status: number;
  readonly app?: string;
  readonly error?: string;
}

/** Mixed traffic: GETs, POSTs with bodies, and slow GETs, from `connections` loops, bounded in time. */
function mixedLoad(proxyUrl: string, connections: number, maxMs: number): { stop: () => Promise<Outcome[]> } {
  const agent = new Agent({ connections, keepAliveTimeout: 10_000 });
  onTestFinished(() => agent.destroy().catch(() => undefined));
  const out: Outcome[] = [];
  let running = true;
  const deadline = Date.now() + maxMs;
  let n = 0;
  const loop = async (): Promise<void> => {
    while (running && Date.now() < deadline) {
      const i = n++;
      const kind = i % 10;
      const startedAt = Date.now();
      try {
        const res =
          kind < 2
            ? await request(`${proxyUrl}/orders`, { dispatcher: agent, method: 'POST', body: Buffer.alloc(1024 * (1 + (i % 8)), 97), headers: { 'content-type': 'text/plain' } })
            : await request(`${proxyUrl}${kind === 2 ? '/slow?ms=300' : '/'}`, { dispatcher: agent });
        const text = await res.body.text();
        let app: string | undefined;
        try {
          app = (JSON.parse(text) as { app?: string }).app;
        } catch {
          app = undefined;
        }
        out.push({ startedAt, status: res.statusCode, ...(app ? { app } : {}) });
      } catch (err) {
        out.push({ startedAt, status: 0, error: (err as Error).message });
      }
    }
  };
  const loops = Array.from({ length: connections }, () => loop());
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return out;
    },
  };
}

/** The deploy tool's admin calls, recorded in history as actor "e2e". */
const deploy = (t: AdminAt, method: string, path: string, body?: unknown) => api(t, method, path, body, { 'x-turnout-actor': 'e2e' });

/** `turnout serve` supervises one worker unless told otherwise; the deploy holds with two as well. */
const SERVE_WORKERS = [
  { name: 'default: 1 worker', workers: 1, args: [] },
  { name: '--workers 2', workers: 2, args: ['--workers', '2'] },
] as const;

describe.each(SERVE_WORKERS)('a whole deploy under load, as a deploy tool does it ($name)', ({ workers, args }) => {
  test('register green, canary 1 → 10 → 50 %, flip with wait=drained, deregister blue with wait, stop blue: zero failed requests', async () => {
    const blue = await Promise.all([startAppProcess('blue', 'v1'), startAppProcess('blue', 'v1')]);
    const t = await startTurnoutProcess(
      {
        services: {
          web: {
            routes: [{ host: '*', pathPrefix: '/' }],
            pools: { blue: blue.map((b, i) => ({ id: `blue-${i + 1}`, url: b.url })), green: [] },
            split: { blue: 100, green: 0 },
            healthCheck: { path: '/health/ready', interval: '200ms' },
            drain: { timeout: '10s' },
          },
        },
      },
      { args },
    );
    const load = mixedLoad(t.proxyUrl, 24, 40_000);
    await sleep(500);

    const green = await Promise.all([startAppProcess('green', 'v2'), startAppProcess('green', 'v2')]);
    for (const [i, g] of green.entries()) {
      expect((await deploy(t, 'POST', '/v1/services/web/pools/green/backends', { id: `green-${i + 1}`, url: g.url })).status).toBe(201);
    }
    // The canary is refused until green has an eligible (healthy) backend; a deploy tool retries.
    let canary = 0;
    for (let i = 0; i < 50 && canary !== 200; i++) {
      canary = (await deploy(t, 'POST', '/v1/services/web/canary', { pool: 'green', percent: 1 })).status;
      if (canary !== 200) await sleep(100);
    }
    expect(canary).toBe(200);
    await sleep(400);
    expect((await deploy(t, 'POST', '/v1/services/web/canary', { pool: 'green', percent: 10 })).status).toBe(200);
    await sleep(400);
    expect((await deploy(t, 'POST', '/v1/services/web/canary', { pool: 'green', percent: 50 })).status).toBe(200);
    await sleep(400);
    const flip = await deploy(t, 'POST', '/v1/services/web/flip?wait=drained', { to: 'green' });
    const flippedAt = Date.now();
    expect(flip.status).toBe(200);
    expect(flip.body.drained).toBe(true);
    for (const i of [1, 2]) {
      const del = await deploy(t, 'DELETE', `/v1/services/web/pools/blue/backends/blue-${i}?wait=true`);
      expect(del.status).toBe(200);
    }
    await Promise.all(blue.map((b) => b.stop('SIGTERM')));
    await sleep(500);
    const results = await load.stop();

    const failed = results.filter((r) => r.status !== 200);
    expect(results.length).toBeGreaterThan(500);
    expect(failed).toEqual([]);
    expect(results.filter((r) => r.startedAt > flippedAt + 50).every((r) => r.app === 'green')).toBe(true);
    expect(results.some((r) => r.app === 'blue')).toBe(true);
    const history = (await deploy(t, 'GET', '/v1/services/web/history')).body.history.map((h: { action: string }) => h.action).reverse();
    expect(history).toEqual(expect.arrayContaining(['register', 'canary', 'flip', 'deregister', 'remove']));
    // The load's 24 connections went to every worker.
    expect((await fleetWorkers(t)).map((w) => w.connections.total > 0)).toEqual(Array<boolean>(workers).fill(true));
  });
});

describe('a whole deploy under load, as a deploy tool does it', () => {
  test('a backend crashing (SIGKILL) under GET load: zero failed requests', async () => {
    const apps = await Promise.all([startAppProcess('a', 'v1'), startAppProcess('b', 'v1'), startAppProcess('c', 'v1')]);
    const t = await startTurnoutProcess({
      services: {
        web: {
          routes: [{ host: '*', pathPrefix: '/' }],
          pools: { blue: apps.map((a, i) => ({ id: `app-${i}`, url: a.url })) },
          healthCheck: { path: '/health/ready', interval: '500ms' },
        },
      },
    });
    const agent = new Agent({ connections: 16, keepAliveTimeout: 10_000 });
    onTestFinished(() => agent.destroy().catch(() => undefined));
    const out: number[] = [];
    let running = true;
    const deadline = Date.now() + 15_000;
    const loops = Array.from({ length: 16 }, async () => {
      while (running && Date.now() < deadline) {
        try {
          const res = await request(`${t.proxyUrl}/`, { dispatcher: agent });
          await res.body.text();
          out.push(res.statusCode);
        } catch {
          out.push(0);
        }
      }
    });
    await sleep(700);
    await apps[1]?.stop('SIGKILL');
    await sleep(2000);
    running = false;
    await Promise.all(loops);
    expect(out.length).toBeGreaterThan(300);
    expect(out.filter((s) => s !== 200)).toEqual([]);
  });
});
