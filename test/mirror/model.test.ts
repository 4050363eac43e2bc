import { describe, expect, test } from 'vitest';
import { InvalidRequestError, NotFoundError } from '../../src/errors.js';
import { applyCommand, checkMirror } from '../../src/model/index.js';
import type { CommandContext, MirrorRequest, StateSnapshot } from '../../src/model/index.js';
import { reconcileState } from '../../src/runtime/seed.js';
import type { ServiceConfig } from '../../src/config/index.js';

const POOLS = ['blue', 'green'];

describe('checkMirror: the mirror a caller asks for, defaults filled, or a 400 naming the key', () => {
  test.for<[string, MirrorRequest, unknown]>([
    ['defaults', { pool: 'green', percent: 100 }, { pool: 'green', percent: 100, methods: ['GET', 'HEAD'], maxBodyBytes: 1048576, maxInFlight: 100 }],
    ['all given, methods deduplicated', { pool: 'green', percent: 0.5, methods: ['GET', 'POST', 'GET'], maxBodyBytes: 0, maxInFlight: 1 }, { pool: 'green', percent: 0.5, methods: ['GET', 'POST'], maxBodyBytes: 0, maxInFlight: 1 }],
    ['percent 0 (kept: copies none)', { pool: 'blue', percent: 0 }, { pool: 'blue', percent: 0, methods: ['GET', 'HEAD'], maxBodyBytes: 1048576, maxInFlight: 100 }],
  ])('%s', ([, req, want]) => {
    expect(checkMirror(req, POOLS)).toEqual(want);
  });

  test.for<[string, MirrorRequest, string]>([
    ['unknown pool', { pool: 'red', percent: 10 }, '/pool'],
    ['percent over 100', { pool: 'green', percent: 100.5 }, '/percent'],
    ['percent below 0', { pool: 'green', percent: -1 }, '/percent'],
    ['three decimals', { pool: 'green', percent: 1.234 }, '/percent'],
    ['no methods', { pool: 'green', percent: 1, methods: [] }, '/methods'],
    ['a lower-case method', { pool: 'green', percent: 1, methods: ['GET', 'post'] }, '/methods/1'],
    ['a negative body bound', { pool: 'green', percent: 1, maxBodyBytes: -1 }, '/maxBodyBytes'],
    ['no room for a copy', { pool: 'green', percent: 1, maxInFlight: 0 }, '/maxInFlight'],
    ['a fractional in-flight bound', { pool: 'green', percent: 1, maxInFlight: 2.5 }, '/maxInFlight'],
  ])('refuses %s at %s', ([, req, path]) => {
    let err: unknown;
    try {
      checkMirror(req, POOLS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as InvalidRequestError).details).toEqual([{ path, message: expect.any(String) as string }]);
  });
});

const state: StateSnapshot = {
  revision: 3,
  services: {
    web: {
      split: { blue: 100, green: 0 },
      pools: { blue: { backends: [] }, green: { backends: [] } },
      splitHistory: [],
      history: [],
    },
  },
};
const ctx: CommandContext = { now: '2026-01-01T00:00:00.000Z', nowMs: 0, actor: 'ci', force: false, local: () => ({ health: 'healthy', checked: false, ejected: false }) };

describe('the mirror command', () => {
  test('sets the mirror, raises the revision by one and records history; off removes it', () => {
    const on = applyCommand(state, { kind: 'mirror', service: 'web', mirror: { pool: 'green', percent: 10 } }, ctx).state;
    expect(on.revision).toBe(4);
    expect(on.services.web?.mirror).toEqual({ pool: 'green', percent: 10, methods: ['GET', 'HEAD'], maxBodyBytes: 1048576, maxInFlight: 100 });
    expect(on.services.web?.split).toEqual({ blue: 100, green: 0 });
    expect(on.services.web?.history.at(-1)).toMatchObject({ revision: 4, actor: 'ci', action: 'mirror', before: null, after: { pool: 'green', percent: 10 } });
    const off = applyCommand(on, { kind: 'mirror', service: 'web', mirror: null }, ctx).state;
    expect(off.revision).toBe(5);
    expect(off.services.web?.mirror).toBeUndefined();
    expect(off.services.web?.history.at(-1)).toMatchObject({ action: 'mirror_off', before: { pool: 'green' }, after: null });
    expect(state.services.web?.mirror).toBeUndefined(); // the input is never mutated
  });

  test('refusals change nothing: a bad mirror is 400, stopping none is 404, an unknown service 404', () => {
    expect(() => applyCommand(state, { kind: 'mirror', service: 'web', mirror: { pool: 'red', percent: 1 } }, ctx)).toThrow(InvalidRequestError);
    expect(() => applyCommand(state, { kind: 'mirror', service: 'web', mirror: null }, ctx)).toThrow(NotFoundError);
    expect(() => applyCommand(state, { kind: 'mirror', service: 'api', mirror: null }, ctx)).toThrow(NotFoundError);
  });

  test('a split change keeps the mirror', () => {
    const on = applyCommand(state, { kind: 'mirror', service: 'web', mirror: { pool: 'green', percent: 10 } }, ctx).state;
    const flipped = applyCommand(on, { kind: 'split', service: 'web', split: { blue: 50, green: 50 } }, { ...ctx, force: true }).state;
    expect(flipped.services.web?.mirror?.pool).toBe('green');
  });
});

describe('reconcileState with the config', () => {
  const cfg = (poolNames: string[]): ServiceConfig => ({ name: 'web', poolNames, seedPools: {}, seedSplit: { blue: 100 } }) as unknown as ServiceConfig;
  const on = applyCommand(state, { kind: 'mirror', service: 'web', mirror: { pool: 'green', percent: 10 } }, ctx).state;

  test('keeps a mirror whose pool is still configured (a reload keeps it)', () => {
    expect(reconcileState(on, { web: cfg(['blue', 'green']) })).toBe(on);
  });

  test('stops a mirror whose pool left the config', () => {
    const next = reconcileState(on, { web: cfg(['blue']) });
    expect(next.revision).toBe(on.revision + 1);
    expect(next.services.web?.mirror).toBeUndefined();
  });
});
