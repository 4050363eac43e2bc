import { describe, expect, test } from 'vitest';
import { ConflictError, InvalidRequestError, NotFoundError } from '../../src/errors.js';
import { applyCommand } from '../../src/model/index.js';
import type { Command, CommandContext, StateSnapshot } from '../../src/model/index.js';

const state: StateSnapshot = {
  revision: 7,
  services: {
    web: {
      split: { blue: 100, green: 0, canary: 0 },
      pools: {
        blue: { backends: [{ id: 'b1', url: 'http://127.0.0.1:1', weight: 100, state: 'active' }] },
        green: { backends: [{ id: 'g1', url: 'http://127.0.0.1:2', weight: 100, state: 'active' }] },
        canary: { backends: [{ id: 'c1', url: 'http://127.0.0.1:3', weight: 0, state: 'active' }] },
      },
      splitHistory: [],
      history: [],
    },
  },
};

const ctx = (over: Partial<CommandContext> = {}): CommandContext => ({
  now: '2026-01-01T00:00:00.000Z',
  nowMs: 0,
  actor: 'ci',
  force: false,
  local: () => ({ health: 'healthy', checked: true, ejected: false }),
  ...over,
});

describe('model commands', () => {
  test('flip gives 100 to one pool, raises the revision by one and records history', () => {
    const r = applyCommand(state, { kind: 'flip', service: 'web', to: 'green' }, ctx());
    expect(r.state.revision).toBe(8);
    expect(r.state.services.web?.split).toEqual({ blue: 0, green: 100, canary: 0 });
    expect(r.state.services.web?.history).toEqual([
      { revision: 8, time: '2026-01-01T00:00:00.000Z', actor: 'ci', action: 'flip', before: { blue: 100, green: 0, canary: 0 }, after: { blue: 0, green: 100, canary: 0 } },
    ]);
    expect(state.revision).toBe(7); // the input is never mutated
  });

  test('canary gives the share to the pool and the rest to the largest other pool', () => {
    const s1 = applyCommand(state, { kind: 'split', service: 'web', split: { blue: 70, green: 30 } }, ctx()).state;
    const r = applyCommand(s1, { kind: 'canary', service: 'web', pool: 'green', percent: 12.5 }, ctx());
    expect(r.state.services.web?.split).toEqual({ blue: 87.5, green: 12.5, canary: 0 });
  });

  test('rollback restores the split before the last change, walking back', () => {
    let s = applyCommand(state, { kind: 'canary', service: 'web', pool: 'green', percent: 5 }, ctx()).state;
    s = applyCommand(s, { kind: 'canary', service: 'web', pool: 'green', percent: 50 }, ctx()).state;
    s = applyCommand(s, { kind: 'rollback', service: 'web' }, ctx()).state;
    expect(s.services.web?.split).toEqual({ blue: 95, green: 5, canary: 0 });
    s = applyCommand(s, { kind: 'rollback', service: 'web' }, ctx()).state;
    expect(s.services.web?.split).toEqual({ blue: 100, green: 0, canary: 0 });
    expect(() => applyCommand(s, { kind: 'rollback', service: 'web' }, ctx())).toThrow(ConflictError);
  });

  test.each<[string, Command, CommandContext, new (...a: never[]) => Error]>([
    ['split not summing to 100', { kind: 'split', service: 'web', split: { blue: 50, green: 40 } }, ctx(), InvalidRequestError],
    ['unknown pool in split', { kind: 'split', service: 'web', split: { blue: 50, purple: 50 } }, ctx(), InvalidRequestError],
    ['three decimals', { kind: 'split', service: 'web', split: { blue: 99.995, green: 0.005 } }, ctx(), InvalidRequestError],
    ['unknown service', { kind: 'flip', service: 'api', to: 'green' }, ctx(), NotFoundError],
    ['flip to an unknown pool', { kind: 'flip', service: 'web', to: 'purple' }, ctx(), NotFoundError],
    ['share for a pool whose only backend has weight 0', { kind: 'canary', service: 'web', pool: 'canary', percent: 1 }, ctx(), ConflictError],
    ['share for a pool with no healthy backend', { kind: 'flip', service: 'web', to: 'green' }, ctx({ local: (_s, id) => ({ health: id === 'g1' ? 'unhealthy' : 'healthy', checked: true, ejected: false }) }), ConflictError],
    ['share for a pool whose only backend is ejected', { kind: 'flip', service: 'web', to: 'green' }, ctx({ local: (_s, id) => ({ health: 'healthy', checked: true, ejected: id === 'g1' }) }), ConflictError],
    ['canary percent out of range', { kind: 'canary', service: 'web', pool: 'green', percent: 101 }, ctx(), InvalidRequestError],
    ['duplicate backend id across pools', { kind: 'register', service: 'web', pool: 'green', backend: { id: 'b1', url: 'http://127.0.0.1:9', weight: 1 } }, ctx(), ConflictError],
    ['weight above 1000', { kind: 'patch', service: 'web', pool: 'blue', id: 'b1', weight: 1001 }, ctx(), InvalidRequestError],
    ['unknown backend', { kind: 'patch', service: 'web', pool: 'blue', id: 'nope', weight: 1 }, ctx(), NotFoundError],
  ])('refuses %s and changes nothing', (_name, cmd, c, err) => {
    const before = JSON.stringify(state);
    expect(() => applyCommand(state, cmd, c)).toThrow(err);
    expect(JSON.stringify(state)).toBe(before);
  });

  test('force skips the eligible-backend rule but not the shape rules', () => {
    const r = applyCommand(state, { kind: 'canary', service: 'web', pool: 'canary', percent: 1 }, ctx({ force: true }));
    expect(r.state.services.web?.split).toEqual({ blue: 99, green: 0, canary: 1 });
    expect(() => applyCommand(state, { kind: 'split', service: 'web', split: { blue: 1 } }, ctx({ force: true }))).toThrow(InvalidRequestError);
  });

  test('register, patch, drain and remove a backend', () => {
    let s = applyCommand(state, { kind: 'register', service: 'web', pool: 'green', backend: { id: 'g2', url: 'http://127.0.0.1:4/', weight: 5 } }, ctx()).state;
    expect(s.services.web?.pools.green?.backends.map((b) => [b.id, b.url, b.weight, b.state])).toEqual([
      ['g1', 'http://127.0.0.1:2', 100, 'active'],
      ['g2', 'http://127.0.0.1:4', 5, 'active'],
    ]);
    s = applyCommand(s, { kind: 'patch', service: 'web', pool: 'green', id: 'g2', state: 'maint', weight: 9 }, ctx()).state;
    expect(s.services.web?.pools.green?.backends[1]).toEqual({ id: 'g2', url: 'http://127.0.0.1:4', weight: 9, state: 'maint' });
    s = applyCommand(s, { kind: 'drain', service: 'web', pool: 'green', id: 'g2', deadlineMs: 30_000, remove: true }, ctx()).state;
    expect(s.services.web?.pools.green?.backends[1]?.state).toBe('draining');
    expect(s.services.web?.pools.green?.backends[1]?.drain).toEqual({ startedAt: '2026-01-01T00:00:00.000Z', deadlineMs: 30_000, remove: true });
    s = applyCommand(s, { kind: 'patch', service: 'web', pool: 'green', id: 'g2', state: 'active' }, ctx()).state;
    expect(s.services.web?.pools.green?.backends[1]).toEqual({ id: 'g2', url: 'http://127.0.0.1:4', weight: 9, state: 'active' });
    s = applyCommand(s, { kind: 'remove', service: 'web', pool: 'green', id: 'g2' }, ctx()).state;
    expect(s.services.web?.pools.green?.backends.map((b) => b.id)).toEqual(['g1']);
    expect(s.revision).toBe(state.revision + 5);
  });

  test('history keeps the last 100 changes', () => {
    let s = state;
    for (let i = 0; i < 120; i++) s = applyCommand(s, { kind: 'flip', service: 'web', to: i % 2 ? 'blue' : 'green' }, ctx()).state;
    const h = s.services.web?.history ?? [];
    expect(h).toHaveLength(100);
    expect(h[0]?.revision).toBe(state.revision + 21);
    expect(h[99]?.revision).toBe(state.revision + 120);
  });
});
