import { describe, expect, test } from 'vitest';
import type { UpstreamFailure } from '../../src/errors.js';
import { parseConfigText } from '../../src/config/index.js';
import { attemptFailure, replayable, retryTarget } from '../../src/proxy/retry.js';
import { buildServiceTable } from '../../src/proxy/table.js';
import type { Upstream } from '../../src/proxy/upstream.js';

describe('attempt failure', () => {
  const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
  test.each([
    ['deadline before the connect', true, false, undefined, 'connect_timeout'],
    ['deadline after the connect', true, true, undefined, 'timeout'],
    ['closed before the connect', false, false, undefined, 'connect_reset'],
    ['closed after the connect', false, true, undefined, 'reset'],
    ['a socket error: classified', false, false, refused, 'connect_refused'],
    ['a deadline wins over the error it caused', true, false, refused, 'connect_timeout'],
  ])('%s', (_what, timedOut, connected, err, want) => {
    expect(attemptFailure(timedOut, connected, err)).toBe(want);
  });
});

describe('replayable', () => {
  test.each<[string, UpstreamFailure, boolean, boolean, string, boolean]>([
    ['refused: nothing reached a backend, any method', 'connect_refused', false, false, 'POST', true],
    ['connect timeout', 'connect_timeout', false, false, 'POST', true],
    ['connect reset', 'connect_reset', false, true, 'PATCH', true],
    ['a reset on a bodiless GET', 'reset', false, true, 'GET', true],
    ['a reset on a bodiless DELETE', 'reset', false, true, 'DELETE', true],
    ['a reset on a POST: never sent twice', 'reset', false, true, 'POST', false],
    ['a reset on a PUT with a body: the backend may have read it', 'reset', false, false, 'PUT', false],
    ['a response timeout: the backend may be working on it', 'timeout', false, true, 'GET', false],
    ['an error', 'error', false, true, 'GET', false],
    ['body bytes already streamed: never again', 'connect_refused', true, false, 'POST', false],
  ])('%s', (_what, failure, bodyStreamed, bodyless, method, want) => {
    expect(replayable(failure, bodyStreamed, bodyless, method)).toBe(want);
  });
});

describe('retry target', () => {
  const fake = (id: string, inFlight = 0): Upstream => ({ id, inFlight }) as unknown as Upstream;

  function service(maxRequestsPerBackend: number, pools: Record<string, Upstream[]>) {
    const config = parseConfigText(JSON.stringify({ services: { s: { routes: [{ host: '*' }], pools: { blue: [], green: [] }, maxRequestsPerBackend } } }), 't.json', {});
    const settings = config.services.s;
    if (settings === undefined) throw new Error('no service');
    return buildServiceTable({
      settings,
      split: { blue: 0.5, green: 0.5 },
      pools: Object.entries(pools).map(([name, ups]) => ({ name, eligible: ups.map((upstream) => ({ upstream, weight: 1 })) })),
    });
  }

  test.each([
    ['another backend of the same pool first', 0, [['a', 0], ['b', 0]], [['c', 0]], 'blue/b'],
    ['the next pool when the failed one was alone in its pool', 0, [['a', 0]], [['c', 0]], 'green/c'],
    ['a backend at maxRequestsPerBackend is passed over', 1, [['a', 0], ['b', 1]], [['c', 0]], 'green/c'],
    ['none with room: no retry', 1, [['a', 0], ['b', 1]], [['c', 1]], 'none'],
    ['none at all: no retry', 0, [['a', 0]], [], 'none'],
  ] as const)('%s', (_what, max, blue, green, want) => {
    const blueUps = blue.map(([id, n]) => fake(id, n));
    const svc = service(max, { blue: blueUps, green: green.map(([id, n]) => fake(id, n)) });
    const pool = svc.pools.get('blue');
    const failed = blueUps[0];
    if (pool === undefined || failed === undefined) throw new Error('no pool');
    const t = retryTarget(svc, pool, failed);
    expect(t === undefined ? 'none' : `${t.pool.name}/${t.up.id}`).toBe(want);
  });
});
