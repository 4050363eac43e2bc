import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { boundedLoops, clientAgent } from '../helpers/http.js';
import { sleep, until } from '../helpers/time.js';
import { api, startTestTurnout } from '../helpers/turnout.js';

// SPEC "Mirroring": a copy never delays, changes or fails the client's request; copies past
// maxInFlight are dropped and counted. Blue answers after 20 ms, so the clients' latency is the
// app's and not the loaded machine's: mirroring that held a request up would show in the p99.

const BLUE_MS = 20;

function p99(ms: number[]): number {
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;
}

/** `count` GETs over 16 connections: every status and duration. */
async function load(url: string, count: number): Promise<{ statuses: number[]; ms: number[] }> {
  const agent = clientAgent(16);
  const { done } = boundedLoops({ connections: 16, maxMs: 30_000, maxRequests: count }, async (i) => {
    const t0 = performance.now();
    try {
      const res = await request(`${url}/r/${i}`, { dispatcher: agent });
      await res.body.text();
      return { status: res.statusCode, ms: performance.now() - t0 };
    } catch {
      return { status: 0, ms: performance.now() - t0 };
    }
  });
  const results = await done;
  return { statuses: results.map((r) => r.status), ms: results.map((r) => r.ms) };
}

describe('a mirror cannot hurt the clients', () => {
  // On the shared 2-core machine a p99 is mostly the scheduler's: the rounds interleave, and a
  // failure is tried again (a copy that held requests up, by 5 s here, fails every try).
  test('a green that answers 500, or takes 5 s per request: clients see no error and their p99 stays within 1.2x of no mirror', { retry: 2, timeout: 90_000 }, async () => {
    const blue = await startBackend('blue-1', (_req: IncomingMessage, res: ServerResponse) => {
      setTimeout(() => res.writeHead(200, { 'content-length': '2', 'x-backend': 'blue-1' }).end('ok'), BLUE_MS);
    });
    let greenMode: 'error' | 'slow' = 'error';
    const held = new Set<ServerResponse>();
    const green = await startBackend('green-1', (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      if (greenMode === 'error') {
        res.writeHead(500, { 'content-length': '4' }).end('boom');
        return;
      }
      held.add(res);
      const t = setTimeout(() => res.writeHead(200, { 'content-length': '4' }).end('late'), 5000);
      res.on('close', () => {
        clearTimeout(t);
        held.delete(res);
      });
    });
    // The data plane in a worker process (as `turnout serve` runs it): the clients and apps of this
    // test do not share its event loop.
    const t = await startTestTurnout(webService({ blue: [blue], green: [green] }, { split: { blue: 100, green: 0 }, timeouts: { connect: '1s', response: '10s' } }), { workers: 1 });
    await load(t.proxyUrl, 400); // warm-up: connections opened, code compiled

    // Rounds interleaved, in a rotating order, so the loaded machine's noise falls on every mode alike.
    const ms: Record<'none' | 'failing' | 'slow', number[]> = { none: [], failing: [], slow: [] };
    const statuses: number[] = [];
    let mirrored = false;
    for (let cycle = 0; cycle < 4; cycle++) {
      const order = (['none', 'failing', 'slow'] as const).map((_, i, all) => all[(i + cycle) % 3] as (typeof all)[number]);
      for (const mode of order) {
        // Each round starts clean: copies a slow green still holds would fill the next round's maxInFlight.
        if (mirrored) expect((await api(t, 'DELETE', '/v1/services/web/mirror')).status).toBe(200);
        mirrored = mode !== 'none';
        if (mirrored) {
          greenMode = mode === 'failing' ? 'error' : 'slow';
          expect((await api(t, 'PUT', '/v1/services/web/mirror', { pool: 'green', percent: 100 })).status).toBe(200);
        }
        const round = await load(t.proxyUrl, 300);
        statuses.push(...round.statuses);
        ms[mode].push(...round.ms);
        if (mode === 'slow') {
          // 100 copies (maxInFlight) wait on green; the rest were dropped and counted.
          await until('100 copies held by the slow green', () => held.size === 100, 3000);
          expect(held.size).toBe(100);
        }
      }
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await until('the failing copies counted', () => t.telemetry.mirrorTotals('web', 'green').errors >= 1150, 3000);
    expect(await t.telemetry.metricsText()).toMatch(/turnout_mirror_dropped_total\{service="web",pool="green",reason="max_in_flight"\} \d{3,}/);

    const none = p99(ms.none);
    const failing = p99(ms.failing);
    const slow = p99(ms.slow);
    const figures = `p99 without a mirror ${none.toFixed(1)} ms, to a failing green ${failing.toFixed(1)} ms, to a slow green ${slow.toFixed(1)} ms`;
    process.stdout.write(`${figures}\n`);
    expect(failing, figures).toBeLessThanOrEqual(none * 1.2);
    expect(slow, figures).toBeLessThanOrEqual(none * 1.2);
  });

  test('past maxInFlight a copy is dropped and counted; room again, copies go again', async () => {
    const blue = await startBackend('blue-1');
    const waiting: ServerResponse[] = [];
    const green = await startBackend('green-1', (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      waiting.push(res);
    });
    const t = await startTestTurnout(webService({ blue: [blue], green: [green] }, { split: { blue: 100, green: 0 }, mirror: { pool: 'green', percent: 100, maxInFlight: 3 } }));
    const agent = clientAgent(1);
    for (let i = 0; i < 10; i++) {
      const res = await request(`${t.proxyUrl}/a/${i}`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    await until('3 copies at green', () => waiting.length === 3, 2000);
    await sleep(100);
    expect(waiting).toHaveLength(3);
    expect(await t.telemetry.metricsText()).toContain('turnout_mirror_dropped_total{service="web",pool="green",reason="max_in_flight"} 7');
    for (const res of waiting.splice(0)) res.writeHead(204).end();
    await until('the 3 copies answered', () => t.telemetry.mirrorTotals('web', 'green').requests === 3, 2000);
    const res = await request(`${t.proxyUrl}/b`, { dispatcher: agent });
    await res.body.text();
    await until('a new copy at green', () => waiting.length === 1, 2000);
    for (const r of waiting.splice(0)) r.writeHead(204).end();
  });

  test('a mirrored pool with no eligible backend: copies are dropped and counted, clients served', async () => {
    const blue = await startBackend('blue-1');
    const t = await startTestTurnout(webService({ blue: [blue], green: [] }, { split: { blue: 100, green: 0 }, mirror: { pool: 'green', percent: 100 } }));
    const agent = clientAgent(1);
    for (let i = 0; i < 4; i++) {
      const res = await request(`${t.proxyUrl}/a/${i}`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    expect(await t.telemetry.metricsText()).toContain('turnout_mirror_dropped_total{service="web",pool="green",reason="no_backend"} 4');
  });

  test('a green that refuses connections counts 502 copies; the clients are served', async () => {
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const t = await startTestTurnout(webService({ blue: [blue], green: [green] }, { split: { blue: 100, green: 0 }, mirror: { pool: 'green', percent: 100 } }));
    await green.close();
    const agent = clientAgent(1);
    for (let i = 0; i < 5; i++) {
      const res = await request(`${t.proxyUrl}/a/${i}`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    await until('5 failed copies', () => t.telemetry.mirrorTotals('web', 'green').requests === 5, 3000);
    expect(t.telemetry.mirrorTotals('web', 'green').errors).toBe(5);
    expect(await t.telemetry.metricsText()).toContain('turnout_mirror_requests_total{service="web",pool="green",code="502"} 5');
  });
});
