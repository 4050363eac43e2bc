import * as grpc from '@grpc/grpc-js';
import { describe, expect, test } from 'vitest';
import { ECHO_SERVICE, checkHealth, echoClient, startGrpcBackend } from './grpc.js';

// The gRPC test helper, straight from a grpc-js client to a grpc-js server (no proxy): what the
// proxy tests compare against.
describe('the gRPC echo backend and client', () => {
  test('all four call kinds, with metadata echoed as headers and trailers set', async () => {
    const b = await startGrpcBackend('g1');
    const c = echoClient(b.address);
    const md = { metadata: { 'x-trace': 'abc' } };

    const u = await c.unary({ message: 'hi', pad: 10 }, md);
    expect(u.status.code).toBe(grpc.status.OK);
    expect(u.replies).toHaveLength(1);
    expect(u.replies[0]).toMatchObject({ message: 'hi', backend: 'g1', index: 0 });
    expect(u.replies[0]?.padding.length).toBe(10);
    expect(u.headers?.get('x-trace')).toEqual(['abc']);
    expect(u.status.metadata.get('x-trailer')).toEqual(['done']);
    expect(u.status.metadata.get('x-backend')).toEqual(['g1']);

    const cs = await c.clientStream([{ message: 'a' }, { message: 'b' }, { message: 'c' }], md);
    expect(cs.status.code).toBe(grpc.status.OK);
    expect(cs.replies[0]).toMatchObject({ message: 'a,b,c', index: 3 });
    expect(cs.status.metadata.get('x-trailer')).toEqual(['done']);

    const ss = await c.serverStream({ message: 's', count: 5 }, md);
    expect(ss.status.code).toBe(grpc.status.OK);
    expect(ss.replies.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(ss.headers?.get('x-trace')).toEqual(['abc']);
    expect(ss.status.metadata.get('x-trailer')).toEqual(['done']);

    const bi = await c.bidi([{ message: 'x' }, { message: 'y' }], md);
    expect(bi.status.code).toBe(grpc.status.OK);
    expect(bi.replies.map((r) => `${r.message}${r.index}`)).toEqual(['x0', 'y1']);
    expect(bi.status.metadata.get('x-trailer')).toEqual(['done']);
    expect(b.calls).toBe(4);
  });

  test('one call in N answers INTERNAL', async () => {
    const b = await startGrpcBackend('g1', { failEvery: 5 });
    const c = echoClient(b.url);
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) codes.push((await c.unary({ message: String(i) })).status.code);
    expect(codes.filter((x) => x === grpc.status.INTERNAL)).toHaveLength(4);
    expect(codes.filter((x) => x === grpc.status.OK)).toHaveLength(16);
    expect(codes[4]).toBe(grpc.status.INTERNAL);
    expect(b.failed).toBe(4);
  });

  test('a delay longer than the deadline gives DEADLINE_EXCEEDED; a per-call x-delay-ms overrides the option', async () => {
    const b = await startGrpcBackend('g1', { delayMs: 500 });
    const c = echoClient(b.address);
    expect((await c.unary({ message: 'late' }, { deadlineMs: 100 })).status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect((await c.unary({ message: 'quick' }, { deadlineMs: 2000, metadata: { 'x-delay-ms': '0' } })).status.code).toBe(grpc.status.OK);
  });

  test('the standard health service answers what the setter says, per service', async () => {
    const b = await startGrpcBackend('g1');
    expect(await checkHealth(b.address)).toBe('SERVING');
    expect(await checkHealth(b.address, ECHO_SERVICE)).toBe('SERVING');
    b.setHealth('NOT_SERVING');
    expect(await checkHealth(b.address)).toBe('NOT_SERVING');
    expect(await checkHealth(b.address, ECHO_SERVICE)).toBe('SERVING');
    expect(await checkHealth(b.address, 'nope')).toBe(`error ${grpc.status.NOT_FOUND}`);
    await b.close();
    expect(await checkHealth(b.address)).toBe(`error ${grpc.status.UNAVAILABLE}`);
  });
});
