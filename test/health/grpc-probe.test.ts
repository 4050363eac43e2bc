import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, onTestFinished, test } from 'vitest';
import type { HealthCheckSettings } from '../../src/config/index.js';
import { HealthChecker } from '../../src/health/index.js';
import type { CheckTarget } from '../../src/health/index.js';
import { deadPort } from '../helpers/backends.js';
import { ECHO_SERVICE, startGrpcBackend } from '../helpers/grpc.js';

const settings = (service = ''): HealthCheckSettings => ({
  path: '',
  grpc: { service },
  intervalMs: 1000,
  timeoutMs: 300,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  expectStatusMin: 200,
  expectStatusMax: 399,
});

function checker(onResult: (key: string, detail: string) => void = () => undefined): HealthChecker {
  const c = new HealthChecker((key, r) => onResult(key, r.detail));
  onTestFinished(() => c.close());
  return c;
}

const target = (url: string, service = '', key = 'web\u0000g1'): CheckTarget => ({ key, url, settings: settings(service), rejectUnauthorized: true });

/** A TCP relay in front of `port` that counts the connections made through it and which are still open. */
async function countingRelay(port: number): Promise<{ url: string; opened: () => number; open: () => number }> {
  let opened = 0;
  const live = new Set<net.Socket>();
  const server = net.createServer((client) => {
    opened++;
    live.add(client);
    const up = net.connect(port, '127.0.0.1');
    client.pipe(up).pipe(client);
    const end = (): void => {
      live.delete(client);
      client.destroy();
      up.destroy();
    };
    client.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    for (const s of live) s.destroy();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, opened: () => opened, open: () => live.size };
}

describe('gRPC health probes (grpc.health.v1.Health/Check)', () => {
  // What a probe says is what the event log shows. A first probe connects: its deadline is the
  // timeout (300 ms here) plus the 2 s connect allowance.
  test.each([
    ['a SERVING server', async () => (await startGrpcBackend('g1')).url, '', { passed: true, detail: 'SERVING' }],
    ['a NOT_SERVING server', async () => (await startGrpcBackend('g1', { health: 'NOT_SERVING' })).url, '', { passed: false, detail: 'NOT_SERVING' }],
    ['a named service that is SERVING', async () => (await startGrpcBackend('g1')).url, ECHO_SERVICE, { passed: true, detail: 'SERVING' }],
    ['a service the server does not know', async () => (await startGrpcBackend('g1')).url, 'no.such.Service', { passed: false, detail: 'NOT_FOUND: Health status unknown for service no.such.Service' }],
    ['a refused connection', async () => `http://127.0.0.1:${await deadPort()}`, '', { passed: false, detail: expect.stringMatching(/^UNAVAILABLE: .*ECONNREFUSED/) }],
    ['a server that accepts and never speaks', async () => {
      const silent = net.createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      onTestFinished(() => void silent.close());
      return `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    }, '', { passed: false, detail: 'timeout after 2300ms' }],
  ])('a probe of %s', async (_name, url, service, expected) => {
    expect(await checker().probe(target(await url(), service))).toEqual(expected);
  });

  test('one channel per backend: probes reuse its connection, and it closes when the backend is no longer checked', async () => {
    const b = await startGrpcBackend('g1');
    const relay = await countingRelay(b.port);
    const c = checker();
    const t = target(relay.url);
    for (let i = 0; i < 5; i++) expect((await c.probe(t)).detail).toBe('SERVING');
    expect(relay.opened()).toBe(1);
    c.sync([t]);
    expect(relay.open()).toBe(1);
    c.sync([]);
    const until = Date.now() + 3000;
    while (relay.open() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(relay.open()).toBe(0);
  });

  test('a backend that goes NOT_SERVING and then down: the scheduled probes report each (same scheduler as HTTP checks)', async () => {
    const b = await startGrpcBackend('g1');
    const seen: string[] = [];
    const c = checker((_key, detail) => seen.push(detail));
    c.sync([{ ...target(b.url), settings: { ...settings(), intervalMs: 100 } }]);
    const waitFor = async (re: RegExp): Promise<void> => {
      const until = Date.now() + 5000;
      while (!seen.some((d) => re.test(d)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(seen.some((d) => re.test(d)), seen.join(' | ')).toBe(true);
    };
    await waitFor(/^SERVING$/);
    b.setHealth('NOT_SERVING');
    await waitFor(/^NOT_SERVING$/);
    await b.close();
    await waitFor(/^UNAVAILABLE: /);
  });
});
