import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { describe, expect, test } from 'vitest';
import { webService } from '../helpers/config.js';
import { echoClient, startGrpcBackend } from '../helpers/grpc.js';
import { readSnapshots } from '../helpers/sse.js';
import { READ_TOKEN, api, startTestTurnout } from '../helpers/turnout.js';
import { sleep } from '../helpers/time.js';

const h2 = { upstreamProtocol: 'h2' };

describe('gRPC through turnout (a grpc-js client, turnout, a grpc-js server)', () => {
  test('all four call kinds, with metadata and trailers intact', async () => {
    const b = await startGrpcBackend('g1');
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const c = echoClient(t.proxyUrl);
    const md = { metadata: { 'x-trace': 'abc' } };
    const unary = await c.unary({ message: 'hi', pad: 100_000 }, md);
    expect(unary.status.code).toBe(grpc.status.OK);
    expect(unary.replies[0]).toMatchObject({ message: 'hi', backend: 'g1' });
    expect(unary.replies[0]?.padding.length).toBe(100_000);
    expect(unary.headers?.get('x-trace')).toEqual(['abc']);
    expect(unary.status.metadata.get('x-trailer')).toEqual(['done']);
    const cs = await c.clientStream([{ message: 'a' }, { message: 'b' }, { message: 'c' }], md);
    expect(cs.status.code).toBe(grpc.status.OK);
    expect(cs.replies[0]).toMatchObject({ message: 'a,b,c', index: 3 });
    expect(cs.status.metadata.get('x-backend')).toEqual(['g1']);
    const ss = await c.serverStream({ message: 's', count: 50, pad: 20_000 }, md);
    expect(ss.status.code).toBe(grpc.status.OK);
    expect(ss.replies.map((r) => r.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(ss.status.metadata.get('x-trailer')).toEqual(['done']);
    const bidi = await c.bidi(Array.from({ length: 20 }, (_, i) => ({ message: `m${i}` })), md);
    expect(bidi.status.code).toBe(grpc.status.OK);
    expect(bidi.replies.map((r) => r.message)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(bidi.headers?.get('x-trace')).toEqual(['abc']);
    expect(b.calls).toBe(4);
  });

  test('a slow reader of a large server stream (12.5 MiB) gets every message in order', async () => {
    const b = await startGrpcBackend('g1');
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const c = echoClient(t.proxyUrl);
    // 200 messages of 64 KiB (12.5 MiB): the client reads them slowly, so flow control must stop the backend.
    const call = (c.client as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<{ index: number; padding: Buffer }>>).ServerStream?.({ message: 'big', count: 200, pad: 64 * 1024 }, new grpc.Metadata(), {}) as grpc.ClientReadableStream<{ index: number; padding: Buffer }>;
    const got: number[] = [];
    await new Promise<void>((resolve, reject) => {
      call.on('data', (m: { index: number }) => {
        got.push(m.index);
        call.pause();
        setTimeout(() => call.resume(), 5);
      });
      call.on('error', reject);
      call.on('status', (s: grpc.StatusObject) => {
        if (s.code !== 0) reject(new Error(s.details));
      });
      call.on('end', () => resolve());
    });
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test('a deadline shorter than the backend takes gives DEADLINE_EXCEEDED', async () => {
    const b = await startGrpcBackend('g1', { delayMs: 2000 });
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const c = echoClient(t.proxyUrl);
    const started = Date.now();
    const r = await c.unary({ message: 'late' }, { deadlineMs: 300 });
    expect(r.status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test('turnout ends a call by its grpc-timeout alone (no client deadline): DEADLINE_EXCEEDED in the trailers', async () => {
    const b = await startGrpcBackend('g1', { delayMs: 3000 });
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const http2 = await import('node:http2');
    const s = http2.connect(t.proxyUrl);
    s.on('error', () => undefined);
    // The backend's headers came at once (grpc-js sends its metadata first): the deadline ends the call in trailers.
    const trailers = await new Promise<Record<string, unknown>>((resolve) => {
      // A raw call with grpc-timeout 300m and no deadline of the client's own: only turnout can end it.
      const req = s.request({ ':method': 'POST', ':path': '/turnout.test.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '300m' });
      req.on('trailers', (h) => resolve(h as Record<string, unknown>));
      req.on('response', (h) => {
        if (h['grpc-status'] !== undefined) resolve(h as Record<string, unknown>);
      });
      req.resume();
      req.end(Buffer.from([0, 0, 0, 0, 0]));
    });
    s.destroy();
    expect(trailers['grpc-status']).toBe('4');
    expect(String(trailers['grpc-message'])).toMatch(/in time/);
  });

  test('no backend gives UNAVAILABLE (14) trailers-only with X-Turnout-Error no_backend; an http1 service gives UNIMPLEMENTED (12)', async () => {
    const b = await startGrpcBackend('g1');
    const t = await startTestTurnout({
      services: {
        empty: { routes: [{ host: '*', pathPrefix: '/turnout.test.Echo/' }], pools: { blue: [] }, upstreamProtocol: 'h2' },
        plain: { routes: [{ host: 'plain.test', pathPrefix: '/' }], pools: { blue: [{ id: 'g1', url: b.url }] } },
      },
    });
    const c = echoClient(t.proxyUrl);
    const none = await c.unary({ message: 'x' });
    expect(none.status.code).toBe(grpc.status.UNAVAILABLE);
    expect(none.status.metadata.get('x-turnout-error')).toEqual(['no_backend']);
    expect(none.status.details).toMatch(/no backend/);
    const plain = echoClient(t.proxyUrl, { 'grpc.default_authority': 'plain.test' });
    const r = await plain.unary({ message: 'x' });
    expect(r.status.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(r.status.metadata.get('x-turnout-error')).toEqual(['unsupported_protocol']);
    expect(b.calls).toBe(0);
  });

  test('one call in five INTERNAL: grpc_status="13" in /metrics and the error rate in the SSE stream', async () => {
    const b = await startGrpcBackend('g1', { failEvery: 5 });
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const c = echoClient(t.proxyUrl);
    const codes: number[] = [];
    for (let i = 0; i < 50; i++) codes.push((await c.unary({ message: `${i}` })).status.code);
    expect(codes.filter((x) => x === grpc.status.INTERNAL)).toHaveLength(10);
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(text).toContain('turnout_grpc_requests_total{service="web",pool="blue",backend="g1",grpc_status="13"} 10');
    expect(text).toContain('turnout_grpc_requests_total{service="web",pool="blue",backend="g1",grpc_status="0"} 40');
    const res = await request(`${t.adminUrl}/v1/stream`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    const [snap] = await readSnapshots<{ services: { pools: { name: string; errorRate: number }[] }[] }>(res.body, (_, all) => all.length >= 1, 5000);
    const blue = snap?.services[0]?.pools.find((p) => p.name === 'blue');
    expect(blue?.errorRate).toBeCloseTo(0.2, 2);
  });

  test('with 2 workers, the workers relay gRPC answers to the supervisor: grpc_status in /metrics', async () => {
    const b = await startGrpcBackend('g1', { failEvery: 5 });
    const t = await startTestTurnout(webService({ blue: [b] }, h2), { workers: 2 });
    const c = echoClient(t.proxyUrl);
    for (let i = 0; i < 20; i++) await c.unary({ message: `${i}` });
    let text = '';
    for (let i = 0; i < 40 && !text.includes('grpc_status="13"} 4'); i++) {
      await sleep(100);
      text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    }
    expect(text).toContain('turnout_grpc_requests_total{service="web",pool="blue",backend="g1",grpc_status="13"} 4');
    expect(text).toContain('turnout_grpc_requests_total{service="web",pool="blue",backend="g1",grpc_status="0"} 16');
    expect(text).toContain('turnout_requests_total{service="web",pool="blue",backend="g1",code="200"} 20');
  }, 60_000);

  test('a bad gRPC canary (INTERNAL to every call) is rolled back by a rollout with the error-rate gate', async () => {
    const stable = await startGrpcBackend('stable-1');
    const canary = await startGrpcBackend('canary-1', { failEvery: 1 });
    const t = await startTestTurnout({
      services: {
        web: {
          routes: [{ host: '*', pathPrefix: '/' }],
          pools: { stable: [{ id: 'stable-1', url: stable.url }], canary: [{ id: 'canary-1', url: canary.url }] },
          split: { stable: 100, canary: 0 },
          outlier: false,
          upstreamProtocol: 'h2',
        },
      },
    });
    const c = echoClient(t.proxyUrl);
    let stop = false;
    const load = (async () => {
      const end = Date.now() + 10_000;
      while (!stop && Date.now() < end) await c.unary({ message: 'load' });
    })();
    expect((await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'canary', steps: [30, 100], stepDuration: '1s', gates: { maxErrorRate: 0.01, minRequests: 5 } })).status).toBe(201);
    let r: { state?: string; reason?: string } | undefined;
    for (let i = 0; i < 60 && r?.state !== 'rolled_back'; i++) {
      await sleep(100);
      r = (await api(t, 'GET', '/v1/services/web/rollouts/current')).body.rollout;
    }
    stop = true;
    await load;
    expect(r?.state).toBe('rolled_back');
    expect(r?.reason).toMatch(/error rate 100%/);
    expect(canary.calls).toBeGreaterThan(0);
    expect((await api(t, 'GET', '/v1/services/web')).body.service.split).toEqual({ stable: 100, canary: 0 });
  });
});
