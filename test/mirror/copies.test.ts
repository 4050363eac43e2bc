import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import type { TestBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { clientAgent, get } from '../helpers/http.js';
import { runRequests } from '../helpers/load.js';
import { sleep, until } from '../helpers/time.js';
import { api, startTestTurnout } from '../helpers/turnout.js';
import { mirrorKey } from '../../src/telemetry/index.js';

// SPEC "Mirroring": copies of a share of a service's requests go to a pool, their answers are
// read and discarded; the client's request is never delayed, changed or failed by them.

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly mirror: string | undefined;
  readonly host: string | undefined;
  readonly requestId: string | undefined;
  readonly body: string;
}

/** A backend that records every request it gets (method, path, X-Turnout-Mirror, body), then answers `status`. */
async function recording(id: string, status = 200): Promise<{ backend: TestBackend; seen: Seen[] }> {
  const seen: Seen[] = [];
  const backend = await startBackend(id, (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        mirror: req.headers['x-turnout-mirror'] as string | undefined,
        host: req.headers.host,
        requestId: req.headers['x-request-id'] as string | undefined,
        body: Buffer.concat(parts).toString(),
      });
      const body = JSON.stringify({ backend: id });
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': id });
      res.end(body);
    });
  });
  return { backend, seen };
}

async function setup(mirror: Record<string, unknown> | undefined, greenStatus = 200) {
  const blue = await recording('blue-1');
  const green = await recording('green-1', greenStatus);
  const t = await startTestTurnout(
    webService({ blue: [blue.backend], green: [green.backend] }, { split: { blue: 100, green: 0 }, ...(mirror ? { mirror } : {}) }),
  );
  return { t, blue, green };
}

describe('mirroring copies requests to a pool', () => {
  test('100 % under 16 connections: clients get only blue, green sees every copy with X-Turnout-Mirror: 1 and the same request id', async () => {
    const { t, blue, green } = await setup({ pool: 'green', percent: 100 });
    const outcomes = await runRequests(t.proxyUrl, { count: 400, connections: 16, path: (i) => `/item/${i}` });
    expect(outcomes).toHaveLength(400);
    expect(outcomes.every((o) => o.status === 200 && o.backend === 'blue-1')).toBe(true);
    await until('green.seen.length === 400', () => green.seen.length === 400, 5000);
    expect(blue.seen.every((s) => s.mirror === undefined)).toBe(true);
    expect(green.seen.every((s) => s.mirror === '1' && s.method === 'GET')).toBe(true);
    expect(new Set(green.seen.map((s) => s.url))).toEqual(new Set(blue.seen.map((s) => s.url)));
    // The copy carries the X-Request-Id turnout gave the real request.
    const idOf = new Map(blue.seen.map((s) => [s.url, s.requestId]));
    expect(green.seen.every((s) => s.requestId !== undefined && idOf.get(s.url) === s.requestId)).toBe(true);
    // Counted apart from the clients' traffic.
    await until('t.telemetry.mirrorTotals("web", "green").requests === 400', () => t.telemetry.mirrorTotals('web', 'green').requests === 400, 2000);
    expect(t.telemetry.poolTotals('web', 'green').requests).toBe(0);
    // What this instance reports to the fleet, for gates that add up every instance's copies.
    expect(t.telemetry.allPoolCounts(Date.now())[mirrorKey('web', 'green')]).toMatchObject({ requests: 400, errors: 0 });
    expect(t.telemetry.allPoolCounts(Date.now())['web/green']).toBeUndefined();
    const metrics = await t.telemetry.metricsText();
    expect(metrics).toContain('turnout_mirror_requests_total{service="web",pool="green",code="200"} 400');
  });

  test('a share: about percent of the requests are copied', async () => {
    const { t, green } = await setup({ pool: 'green', percent: 25 });
    await runRequests(t.proxyUrl, { count: 800, connections: 8 });
    await sleep(300);
    // 25 % of 800 = 200; binomial sd ~12: 140..260 is far outside chance.
    expect(green.seen.length).toBeGreaterThan(140);
    expect(green.seen.length).toBeLessThan(260);
  });

  test('POSTs are not copied unless listed; listed, their bodies are', async () => {
    const { t, blue, green } = await setup({ pool: 'green', percent: 100 });
    const agent = clientAgent(2);
    for (let i = 0; i < 5; i++) expect((await get(`${t.proxyUrl}/pay/${i}`, { agent, method: 'POST', body: `card ${i}` })).status).toBe(200);
    expect((await get(`${t.proxyUrl}/head`, { agent, method: 'HEAD' })).status).toBe(200);
    await until('green.seen.length === 1', () => green.seen.length === 1, 2000);
    await sleep(200);
    expect(green.seen.map((s) => s.method)).toEqual(['HEAD']);
    expect(blue.seen.filter((s) => s.method === 'POST')).toHaveLength(5);

    const put = await api(t, 'PUT', '/v1/services/web/mirror', { pool: 'green', percent: 100, methods: ['GET', 'POST'] });
    expect(put.status).toBe(200);
    expect(put.body.service.mirror).toEqual({ pool: 'green', percent: 100, methods: ['GET', 'POST'], maxBodyBytes: 1048576, maxInFlight: 100 });
    for (let i = 0; i < 3; i++) expect((await get(`${t.proxyUrl}/pay/${i}`, { agent, method: 'POST', body: `card ${i}` })).status).toBe(200);
    await until('green.seen.length === 4', () => green.seen.length === 4, 2000);
    expect(green.seen.slice(1).map((s) => [s.method, s.url, s.body])).toEqual([
      ['POST', '/pay/0', 'card 0'],
      ['POST', '/pay/1', 'card 1'],
      ['POST', '/pay/2', 'card 2'],
    ]);
  });

  test('a body over maxBodyBytes is not copied, and counted; one within it is, whole', async () => {
    const { t, green } = await setup({ pool: 'green', percent: 100, methods: ['POST'], maxBodyBytes: 1000 });
    const agent = clientAgent(1);
    const big = 'x'.repeat(200_000);
    const small = 'y'.repeat(1000);
    expect((await get(`${t.proxyUrl}/big`, { agent, method: 'POST', body: big })).status).toBe(200);
    expect((await get(`${t.proxyUrl}/small`, { agent, method: 'POST', body: small })).status).toBe(200);
    await until('green.seen.length === 1', () => green.seen.length === 1, 2000);
    await sleep(200);
    expect(green.seen.map((s) => [s.url, s.body.length])).toEqual([['/small', 1000]]);
    expect(await t.telemetry.metricsText()).toContain('turnout_mirror_dropped_total{service="web",pool="green",reason="body_too_large"} 1');
  });

  test('a green that answers 500 changes nothing for clients; its copies count as errors of the mirror', async () => {
    const { t, green } = await setup({ pool: 'green', percent: 100 }, 500);
    const outcomes = await runRequests(t.proxyUrl, { count: 200, connections: 16 });
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    await until('t.telemetry.mirrorTotals("web", "green").requests === 200', () => t.telemetry.mirrorTotals('web', 'green').requests === 200, 3000);
    expect(green.seen).toHaveLength(200);
    expect(t.telemetry.mirrorTotals('web', 'green').errors).toBe(200);
    expect(t.telemetry.mirrorWindow('web', 'green', Date.now(), 60).errorRate).toBe(1);
    expect(t.telemetry.poolTotals('web', 'blue')).toEqual({ requests: 200, errors: 0 });
  });

  test('DELETE stops the copies; a second DELETE is 404', async () => {
    const { t, green } = await setup({ pool: 'green', percent: 100 });
    const agent = clientAgent(1);
    await get(`${t.proxyUrl}/a`, { agent });
    await until('green.seen.length === 1', () => green.seen.length === 1, 2000);
    const del = await api(t, 'DELETE', '/v1/services/web/mirror');
    expect(del.status).toBe(200);
    expect(del.body.service.mirror).toBeUndefined();
    await get(`${t.proxyUrl}/b`, { agent });
    await sleep(200);
    expect(green.seen).toHaveLength(1);
    expect((await api(t, 'DELETE', '/v1/services/web/mirror')).status).toBe(404);
  });
});
