import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { RevisionMismatchError } from '../../src/errors.js';
import { seedState } from '../../src/runtime/index.js';
import { parseConfigText } from '../../src/config/index.js';
import { RedisStore } from '../../src/store/index.js';
import { startBackend } from '../helpers/backends.js';
import type { TestBackend } from '../helpers/backends.js';
import { clientAgent, get } from '../helpers/http.js';
import { hasRedisServer, startRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { PROCESS_MODELS, api, startTestTurnout } from '../helpers/turnout.js';
import { sleep, until } from '../helpers/time.js';
import { onTestFinished } from 'vitest';

const logger = pino({ level: 'silent' });

function fleetDoc(redis: TestRedis, blue: TestBackend, green: TestBackend): Record<string, unknown> {
  return {
    state: { store: 'redis', url: redis.url, prefix: redis.prefix },
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { blue: [{ id: 'blue-1', url: blue.url }], green: [{ id: 'green-1', url: green.url }] },
        split: { blue: 100, green: 0 },
      },
    },
  };
}

describe.skipIf(!hasRedisServer())('redis store (fleet mode)', () => {
  test('compare-and-set on the revision; another store instance sees the change through pub/sub', async () => {
    const redis = await startRedis();
    const config = parseConfigText(JSON.stringify({ services: { web: { routes: [{ host: '*' }], pools: { blue: [] } } } }), 'x.json', {});
    const a = new RedisStore({ url: redis.url, prefix: redis.prefix, logger });
    const b = new RedisStore({ url: redis.url, prefix: redis.prefix, logger });
    onTestFinished(() => a.close());
    onTestFinished(() => b.close());
    expect(await a.load()).toBeUndefined();
    expect(await b.load()).toBeUndefined();
    const seen: number[] = [];
    b.onChange((s) => seen.push(s.revision));
    const s1 = seedState(config.services);
    await a.write(s1, 0);
    const s2 = { ...s1, revision: 2 };
    const writtenAt = Date.now();
    await a.write(s2, 1);
    await expect(b.write({ ...s1, revision: 2 }, 1)).rejects.toBeInstanceOf(RevisionMismatchError);
    while (Date.now() - writtenAt < 1000 && !seen.includes(2)) await sleep(5);
    expect(seen).toContain(2);
    expect(Date.now() - writtenAt).toBeLessThan(300);
    expect((await b.load())?.revision).toBe(2);
  });

  test('two proxies share the state: a flip on one is applied by the other within 100 ms; /v1/fleet lists both', async () => {
    const redis = await startRedis();
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const a = await startTestTurnout(fleetDoc(redis, blue, green));
    const b = await startTestTurnout(fleetDoc(redis, blue, green));
    expect(a.runtime.revision).toBe(1);
    expect(b.runtime.revision).toBe(1);
    const flip = await api(a, 'POST', '/v1/services/web/flip', { to: 'green' });
    expect(flip.status).toBe(200);
    const at = Date.now();
    while (b.runtime.revision < 2 && Date.now() - at < 2000) await sleep(2);
    expect(b.runtime.revision).toBe(2);
    expect(Date.now() - at).toBeLessThan(100);
    const agent = clientAgent(2);
    expect(JSON.parse((await get(`${b.proxyUrl}/`, { agent })).text).backend).toBe('green-1');
    // A write on b without If-Match works even though a wrote last; with a stale If-Match it is 412.
    expect((await api(b, 'POST', '/v1/services/web/canary', { pool: 'blue', percent: 10 })).status).toBe(200);
    expect((await api(a, 'POST', '/v1/services/web/rollback', undefined, { 'if-match': '"2"' })).status).toBe(412);
    await sleep(700);
    const fleet = await api(a, 'GET', '/v1/fleet');
    expect(fleet.status).toBe(200);
    expect(fleet.body.store).toBe('redis');
    expect(fleet.body.instances).toHaveLength(2);
    expect(fleet.body.instances.map((i: { revision: number }) => i.revision)).toEqual([3, 3]);
  });

  test('redis down: proxies keep serving the last state, writes answer 503 store_unavailable, and recover on reconnect', async () => {
    const redis = await startRedis();
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const a = await startTestTurnout(fleetDoc(redis, blue, green));
    const b = await startTestTurnout(fleetDoc(redis, blue, green));
    await redis.stop();
    await sleep(200);
    const agent = clientAgent(2);
    for (let i = 0; i < 5; i++) expect((await get(`${a.proxyUrl}/`, { agent })).status).toBe(200);
    const w = await api(a, 'POST', '/v1/services/web/flip', { to: 'green' });
    expect(w.status).toBe(503);
    expect(w.body.error.code).toBe('store_unavailable');
    expect(a.runtime.revision).toBe(1);
    expect((await api(a, 'GET', '/v1/services/web')).status).toBe(200);
    // Redis comes back empty (no persistence): the first write seeds nothing, so write after a reconnect.
    await redis.start();
    const end = Date.now() + 5000;
    let status = 0;
    while (Date.now() < end) {
      status = (await api(a, 'POST', '/v1/services/web/flip', { to: 'green' })).status;
      if (status === 200) break;
      await sleep(200);
    }
    expect(status).toBe(200);
    const at = Date.now();
    while (b.runtime.revision < a.runtime.revision && Date.now() - at < 3000) await sleep(10);
    expect(b.runtime.revision).toBe(a.runtime.revision);
    expect(JSON.parse((await get(`${b.proxyUrl}/`, { agent })).text).backend).toBe('green-1');
  });
});

describe.skipIf(!hasRedisServer()).each(PROCESS_MODELS)('draining in a fleet (the other instance: $name)', ({ workers }) => {
  test('a backend deregistered through one instance is removed only once the other instance finished its requests on it', async () => {
    const redis = await startRedis();
    // blue-1 holds /held requests until the test releases them: the drain's end is the test's choice.
    const held: (() => void)[] = [];
    const blue = await startBackend('blue-1', (req, res, self) => {
      const answer = (): void => {
        res.writeHead(200, { 'x-backend': self.id, 'content-length': 2 });
        res.end('ok');
      };
      req.resume();
      if (req.url === '/held') held.push(answer);
      else answer();
    });
    const green = await startBackend('green-1');
    const a = await startTestTurnout(fleetDoc(redis, blue, green));
    const b = await startTestTurnout(fleetDoc(redis, blue, green), { workers });
    if (workers !== undefined) {
      // One level up, b is one instance that lists its workers (from its next heartbeat on: it
      // registered when it had a state, before its workers started).
      const want = JSON.stringify(b.workers?.workersInfo().map((w) => w.pid).sort());
      let seen = '';
      await until('a sees b\'s workers', async () => {
        const fleet = (await api(a, 'GET', '/v1/fleet')).body as { instances: { pid: number; workers?: { pid: number }[] }[] };
        seen = JSON.stringify(fleet.instances.find((i) => i.workers !== undefined)?.workers?.map((w) => w.pid).sort());
        return seen === want;
      }, 3000, 50).catch(() => undefined);
      expect(seen).toBe(want);
    }
    // A request through b held on blue-1.
    const slow = get(`${b.proxyUrl}/held`);
    await until('the request is in flight on b', () => held.length === 1 && (b.runtime.backendView('web', 'blue-1')?.inFlight ?? 0) === 1, 3000);
    expect((await api(a, 'POST', '/v1/services/web/flip', { to: 'green' })).status).toBe(200);
    let answeredAt = 0;
    const del = api(a, 'DELETE', '/v1/services/web/pools/blue/backends/blue-1?wait=true&timeout=20s').then((r) => {
      answeredAt = Date.now();
      return r;
    });
    // Past the fleet's report lag and several heartbeats: a's removal must still wait for b's request.
    await sleep(2500);
    expect(answeredAt).toBe(0);
    expect((await api(a, 'GET', '/v1/services/web/pools/blue/backends/blue-1')).body).toMatchObject({ backend: { state: 'draining' } });
    const releasedAt = Date.now();
    held.shift()?.();
    expect((await slow).status).toBe(200);
    const answer = await del;
    expect(answer.status).toBe(200);
    expect(answer.body.removed).toBe(true);
    // Removed only once b's request ended.
    expect(answeredAt).toBeGreaterThanOrEqual(releasedAt);
    await until('b dropped blue-1 too', () => !b.runtime.hasBackend('web', 'blue-1'), 2000);
  });
});

describe.skipIf(!hasRedisServer())('fleet start-up', () => {
  test('several instances starting at once on an empty Redis all come up on one seeded state', async () => {
    const redis = await startRedis();
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const all = await Promise.all([0, 1, 2].map(() => startTestTurnout(fleetDoc(redis, blue, green))));
    expect(all.map((t) => t.runtime.revision)).toEqual([1, 1, 1]);
  });
});

describe.skipIf(!hasRedisServer())('rollouts in a fleet', () => {
  test('one instance holds the lease; gates count the traffic of every instance; both see the promotion', async () => {
    const redis = await startRedis();
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const a = await startTestTurnout(fleetDoc(redis, blue, green));
    const b = await startTestTurnout(fleetDoc(redis, blue, green));
    // b serves but does not run rollouts: a must lead, judging b's traffic from the fleet's reports.
    b.rollouts.stop();
    const start = await api(a, 'POST', '/v1/services/web/rollouts', { pool: 'green', steps: [50, 100], stepDuration: '1s', gates: { minRequests: 20, maxWait: '3s' } });
    expect(start.status).toBe(201);
    // Traffic only through b: a's own counts stay 0, so a leader judging alone could never pass.
    const agent = clientAgent(4);
    let state = 'running';
    const end = Date.now() + 12_000;
    while (state === 'running' && Date.now() < end) {
      await Promise.all(Array.from({ length: 8 }, () => get(`${b.proxyUrl}/`, { agent })));
      state = (await api(a, 'GET', '/v1/services/web/rollouts/current')).body.rollout.state;
    }
    expect(state).toBe('promoted');
    const results = (await api(a, 'GET', '/v1/services/web/rollouts/current')).body.rollout.results as { requests: number }[];
    expect(results.every((r) => r.requests >= 20)).toBe(true);
    const at = Date.now();
    while (b.runtime.revision < a.runtime.revision && Date.now() - at < 2000) await sleep(10);
    expect((await api(b, 'GET', '/v1/services/web')).body.service.split).toEqual({ blue: 0, green: 100 });
  });
});

describe.skipIf(!hasRedisServer())('redis fleet registration', () => {
  // Regression: an instance used to appear in the fleet only at its first heartbeat, so /v1/fleet
  // could list one instance while two were ready. With heartbeats a minute apart, only the
  // registration at start can put the second one there.
  test('an instance is in the fleet as soon as it is ready, not at its first heartbeat', async () => {
    const redis = await startRedis();
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const slowBeat = (): RedisStore => new RedisStore({ url: redis.url, prefix: redis.prefix, logger: pino({ level: 'silent' }), heartbeatMs: 60_000 });
    const a = await startTestTurnout(fleetDoc(redis, blue, green), { store: slowBeat() });
    const b = await startTestTurnout(fleetDoc(redis, blue, green), { store: slowBeat() });
    const fromA = await api(a, 'GET', '/v1/fleet');
    const fromB = await api(b, 'GET', '/v1/fleet');
    expect(fromA.body.instances).toHaveLength(2);
    expect(fromB.body.instances).toHaveLength(2);
    expect(fromA.body.instances.map((i: { revision: number }) => i.revision)).toEqual([1, 1]);
  });
});
