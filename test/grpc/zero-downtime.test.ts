import * as grpc from '@grpc/grpc-js';
import { describe, expect, test } from 'vitest';
import { echoClient, startGrpcBackend } from '../helpers/grpc.js';
import type { GrpcBackend } from '../helpers/grpc.js';
import { api, startTestTurnout } from '../helpers/turnout.js';
import { sleep } from '../helpers/time.js';
import { startH2Backend } from '../proxy/h2/h2-backend.js';
import type { H2Backend } from '../proxy/h2/h2-backend.js';
import { mixedLoad } from './load.js';

type Pools<T> = Record<string, readonly T[]>;

/**
 * Two h2 services in one turnout: `rpc` (gRPC backends, every host, the echo service's path) and
 * `plain` (node:http2 backends, host plain.test), with the same pools and split.
 */
function doc(rpc: Pools<GrpcBackend>, plain: Pools<H2Backend>, split: Record<string, number>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const pools = <T extends { id: string; url: string }>(p: Pools<T>): Record<string, { id: string; url: string }[]> =>
    Object.fromEntries(Object.entries(p).map(([name, bs]) => [name, bs.map((b) => ({ id: b.id, url: b.url }))]));
  const common = { split, outlier: false, upstreamProtocol: 'h2', timeouts: { connect: '1s', response: '10s' }, ...extra };
  return {
    services: {
      rpc: { routes: [{ host: '*', pathPrefix: '/turnout.test.Echo/' }], pools: pools(rpc), ...common },
      plain: { routes: [{ host: 'plain.test', pathPrefix: '/' }], pools: pools(plain), ...common },
    },
  };
}

const noFailures = (failures: string[]): void => expect(failures.slice(0, 5)).toEqual([]);

describe('zero downtime for HTTP/2 and gRPC', () => {
  test('per-call balancing: a 10 % canary gets 10 % ± 2 of the calls on 4 long-lived client connections', async () => {
    const stable = await startGrpcBackend('stable-1');
    const canary = await startGrpcBackend('canary-1');
    const t = await startTestTurnout(doc({ stable: [stable], canary: [canary] }, { stable: [], canary: [] }, { stable: 90, canary: 10 }));
    const clients = Array.from({ length: 4 }, () => echoClient(t.proxyUrl));
    const byBackend = new Map<string, number>();
    // The split is random per call: over 3,000 calls one standard deviation is 0.55 %, so ± 2 is
    // 3.6 of them (a 1 in 4,000 chance to fall outside by luck; with 1,000 calls it was 1 in 28).
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < 750; i++) {
          const r = await c.unary({ message: 'x' });
          expect(r.status.code).toBe(grpc.status.OK);
          const id = r.replies[0]?.backend ?? '?';
          byBackend.set(id, (byBackend.get(id) ?? 0) + 1);
        }
      }),
    );
    const share = ((byBackend.get('canary-1') ?? 0) / 3000) * 100;
    expect(share).toBeGreaterThanOrEqual(8);
    expect(share).toBeLessThanOrEqual(12);
    expect(stable.calls + canary.calls).toBe(3000);
  }, 60_000);

  test('a flip under a load of gRPC unary calls, server streams and plain h2 requests: 0 failed', async () => {
    const blue = await startGrpcBackend('blue-1');
    const green = await startGrpcBackend('green-1');
    const pb = await startH2Backend('pblue-1');
    const pg = await startH2Backend('pgreen-1');
    const t = await startTestTurnout(doc({ blue: [blue], green: [green] }, { blue: [pb], green: [pg] }, { blue: 100, green: 0 }));
    const load = mixedLoad(t.proxyUrl, { maxMs: 15_000 });
    await sleep(800);
    expect((await api(t, 'POST', '/v1/services/rpc/flip', { to: 'green' })).status).toBe(200);
    expect((await api(t, 'POST', '/v1/services/plain/flip', { to: 'green' })).status).toBe(200);
    const greenBefore = green.calls;
    await sleep(800);
    const r = await load.stop();
    noFailures(r.failures);
    expect(r.calls + r.streams).toBeGreaterThan(5);
    expect(r.requests).toBeGreaterThan(5);
    expect(green.calls).toBeGreaterThan(greenBefore);
    expect(pg.seen.length).toBeGreaterThan(0);
  }, 60_000);

  test('a deregister with drain under load: the draining backend gets no new stream, its sessions close, 0 failed', async () => {
    const b1 = await startGrpcBackend('b1');
    const b2 = await startGrpcBackend('b2');
    const p1 = await startH2Backend('p1');
    const p2 = await startH2Backend('p2');
    const t = await startTestTurnout(doc({ blue: [b1, b2] }, { blue: [p1, p2] }, { blue: 100 }));
    const load = mixedLoad(t.proxyUrl, { maxMs: 15_000 });
    await sleep(800);
    const [a, b] = await Promise.all([
      api(t, 'DELETE', '/v1/services/rpc/pools/blue/backends/b1?timeout=10s&wait=true'),
      api(t, 'DELETE', '/v1/services/plain/pools/blue/backends/p1?timeout=10s&wait=true'),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const after = { b1: b1.calls, p1: p1.seen.length };
    await sleep(500);
    const r = await load.stop();
    noFailures(r.failures);
    expect(b1.calls).toBe(after.b1);
    expect(p1.seen.length).toBe(after.p1);
    // Its sessions closed once their streams ended.
    expect(p1.open.size).toBe(0);
  }, 60_000);

  test('a rolling replacement of 3 instances under load: 0 failed', async () => {
    const olds = await Promise.all([1, 2, 3].map((i) => startGrpcBackend(`old-${i}`)));
    const oldPlain = await Promise.all([1, 2, 3].map((i) => startH2Backend(`pold-${i}`)));
    const t = await startTestTurnout(doc({ blue: olds }, { blue: oldPlain }, { blue: 100 }));
    const load = mixedLoad(t.proxyUrl, { maxMs: 40_000 });
    await sleep(500);
    for (let i = 0; i < 3; i++) {
      const fresh = await startGrpcBackend(`new-${i + 1}`);
      const freshPlain = await startH2Backend(`pnew-${i + 1}`);
      expect((await api(t, 'POST', '/v1/services/rpc/pools/blue/backends', { id: fresh.id, url: fresh.url })).status).toBe(201);
      expect((await api(t, 'POST', '/v1/services/plain/pools/blue/backends', { id: freshPlain.id, url: freshPlain.url })).status).toBe(201);
      await sleep(200);
      const [a, b] = await Promise.all([
        api(t, 'DELETE', `/v1/services/rpc/pools/blue/backends/old-${i + 1}?timeout=10s&wait=true`),
        api(t, 'DELETE', `/v1/services/plain/pools/blue/backends/pold-${i + 1}?timeout=10s&wait=true`),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      // The old instance stops once it is out.
      await olds[i]?.close();
      await oldPlain[i]?.close();
    }
    await sleep(300);
    const r = await load.stop();
    noFailures(r.failures);
    expect([...r.byBackend.keys()].some((k) => k.startsWith('new-'))).toBe(true);
    expect(r.calls + r.streams).toBeGreaterThan(10);
  }, 90_000);

  test('a server stream open across a drain finishes; one still open at the drain deadline ends with UNAVAILABLE (14)', async () => {
    const b = await startGrpcBackend('b1');
    const t = await startTestTurnout(doc({ blue: [b] }, { blue: [] }, { blue: 100 }));
    const c = echoClient(t.proxyUrl);
    // 20 messages 50 ms apart (1 s), drained with a 5 s deadline: it finishes.
    const finishing = c.serverStream({ message: 'f', count: 20 }, { metadata: { 'x-interval-ms': '50' } });
    await sleep(200);
    expect((await api(t, 'DELETE', '/v1/services/rpc/pools/blue/backends/b1?timeout=5s')).status).toBe(202);
    const done = await finishing;
    expect(done.status.code).toBe(grpc.status.OK);
    expect(done.replies).toHaveLength(20);

    const b2 = await startGrpcBackend('b2');
    expect((await api(t, 'POST', '/v1/services/rpc/pools/blue/backends', { id: b2.id, url: b2.url })).status).toBe(201);
    // 100 messages 50 ms apart (5 s), drained with a 1 s deadline: cut at the deadline with 14.
    const long = c.serverStream({ message: 'l', count: 100 }, { metadata: { 'x-interval-ms': '50' } });
    await sleep(300);
    const started = Date.now();
    expect((await api(t, 'DELETE', '/v1/services/rpc/pools/blue/backends/b2?timeout=1s')).status).toBe(202);
    const cut = await long;
    expect(cut.status.code).toBe(grpc.status.UNAVAILABLE);
    expect(cut.status.details).toMatch(/drained/);
    expect(cut.replies.length).toBeGreaterThan(0);
    expect(cut.replies.length).toBeLessThan(100);
    // Well before the stream's own 5 s.
    expect(Date.now() - started).toBeLessThan(4000);
  }, 60_000);

  test('turnout upgrade --wait (2 workers) under load: 0 failed calls, streams or requests', async () => {
    const b = await startGrpcBackend('b1');
    const p = await startH2Backend('p1');
    const t = await startTestTurnout(doc({ blue: [b] }, { blue: [p] }, { blue: 100 }), { workers: 2 });
    const load = mixedLoad(t.proxyUrl, { maxMs: 40_000 });
    await sleep(1000);
    const up = await api(t, 'POST', '/v1/upgrade?wait=drained');
    expect(up.status).toBe(200);
    await sleep(1000);
    const r = await load.stop();
    noFailures(r.failures);
    expect(r.calls + r.streams).toBeGreaterThan(10);
  }, 90_000);
});
