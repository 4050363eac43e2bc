import { ConflictError, InvalidRequestError, NotFoundError } from '../errors.js';
import { isEligible } from './eligibility.js';
import type { LocalFacts } from './eligibility.js';
import { canarySplit, completeSplit, flipSplit, hasTwoDecimalsAtMost, sumBasisPoints, toBasisPoints } from './split.js';
import { HISTORY_LIMIT, MAX_WEIGHT, SPLIT_HISTORY_LIMIT } from './types.js';
import { checkMirror } from './mirror.js';
import type { MirrorRequest } from './mirror.js';
import type { RolloutRecord } from './rollout.js';
import type { AdminState, BackendRecord, HistoryEntry, PoolRecord, ServiceRecord, Split, StateSnapshot } from './types.js';

/** A change a deploy tool asks for. Validated against the current state by `applyCommand`. */
export type Command =
  | { readonly kind: 'split'; readonly service: string; readonly split: Split }
  | { readonly kind: 'flip'; readonly service: string; readonly to: string }
  | { readonly kind: 'canary'; readonly service: string; readonly pool: string; readonly percent: number }
  | { readonly kind: 'rollback'; readonly service: string }
  | { readonly kind: 'register'; readonly service: string; readonly pool: string; readonly backend: { id: string; url: string; weight: number } }
  | {
      readonly kind: 'patch';
      readonly service: string;
      readonly pool: string;
      readonly id: string;
      readonly weight?: number;
      readonly state?: AdminState;
    }
  /** Start draining; `remove` drops the backend once drained. */
  | { readonly kind: 'drain'; readonly service: string; readonly pool: string; readonly id: string; readonly deadlineMs: number; readonly remove: boolean }
  /** Remove now (a drain finished, or nothing was in flight). */
  | { readonly kind: 'remove'; readonly service: string; readonly pool: string; readonly id: string }
  /** Store a rollout's new record, with the split it moves to (if any), in one change. */
  | { readonly kind: 'rollout'; readonly service: string; readonly action: string; readonly rollout: RolloutRecord; readonly split?: Split }
  /** Start or change mirroring (SPEC "Mirroring"); `mirror: null` stops it. */
  | { readonly kind: 'mirror'; readonly service: string; readonly mirror: MirrorRequest | null };

export interface CommandContext {
  /** ISO time recorded in history. */
  readonly now: string;
  readonly nowMs: number;
  readonly actor: string;
  /** `?force=true`: skip the eligible-backend rule. */
  readonly force: boolean;
  /** What this instance knows locally about a backend (health, ejection), for the eligible-backend rule. */
  readonly local: (service: string, backendId: string) => LocalFacts;
}

export interface CommandResult {
  readonly state: StateSnapshot;
  readonly service: string;
  /** Backend the command was about, as it is after the change (undefined when removed). */
  readonly backend?: BackendRecord;
}

// Own properties only: a name like "constructor" must not find Object.prototype's.
function getService(state: StateSnapshot, name: string): ServiceRecord {
  const svc = Object.hasOwn(state.services, name) ? state.services[name] : undefined;
  if (!svc) throw new NotFoundError(`service "${name}" does not exist`);
  return svc;
}

function getPool(svc: ServiceRecord, service: string, pool: string): PoolRecord {
  const p = Object.hasOwn(svc.pools, pool) ? svc.pools[pool] : undefined;
  if (!p) throw new NotFoundError(`pool "${pool}" does not exist in service "${service}" (pools: ${Object.keys(svc.pools).join(', ')})`);
  return p;
}

function getBackend(pool: PoolRecord, service: string, poolName: string, id: string): BackendRecord {
  const b = pool.backends.find((x) => x.id === id);
  if (!b) throw new NotFoundError(`backend "${id}" does not exist in ${service}/${poolName}`);
  return b;
}

/** A pool may take a share only when it has a backend that can serve (isEligible). */
export function poolHasEligible(service: string, pool: PoolRecord, local: CommandContext['local']): boolean {
  return pool.backends.some((b) => isEligible({ state: b.state, weight: b.weight, ...local(service, b.id) }));
}

function checkSplit(service: string, svc: ServiceRecord, split: Split, ctx: CommandContext): Record<string, number> {
  const pools = Object.keys(svc.pools);
  for (const [pool, pct] of Object.entries(split)) {
    if (!pools.includes(pool)) throw new InvalidRequestError(`split names unknown pool "${pool}" (pools: ${pools.join(', ')})`);
    if (!Number.isFinite(pct) || pct < 0 || pct > 100) throw new InvalidRequestError(`split.${pool} must be between 0 and 100`);
    if (!hasTwoDecimalsAtMost(pct)) throw new InvalidRequestError(`split.${pool} has more than two decimals`);
  }
  const full = completeSplit(pools, split);
  const total = sumBasisPoints(full);
  if (total !== 10_000) throw new InvalidRequestError(`split must sum to 100, got ${total / 100}`);
  if (!ctx.force) {
    const empty = pools.filter((p) => toBasisPoints(full[p] ?? 0) > 0 && !poolHasEligible(service, svc.pools[p] as PoolRecord, ctx.local));
    if (empty.length > 0) {
      throw new ConflictError(`pool ${empty.map((p) => `"${p}"`).join(', ')} has no eligible backend; add or heal one, or use ?force=true`, {
        pools: empty,
      });
    }
  }
  return full;
}

function withHistory(svc: ServiceRecord, entry: HistoryEntry): readonly HistoryEntry[] {
  const h = [...svc.history, entry];
  return h.length > HISTORY_LIMIT ? h.slice(h.length - HISTORY_LIMIT) : h;
}

function commit(
  state: StateSnapshot,
  service: string,
  next: Omit<ServiceRecord, 'history'>,
  action: string,
  before: unknown,
  after: unknown,
  ctx: CommandContext,
): StateSnapshot {
  const revision = state.revision + 1;
  const prev = state.services[service] as ServiceRecord;
  const history = withHistory(prev, { revision, time: ctx.now, actor: ctx.actor, action, before, after });
  // Fields a command does not name (the rollout) are kept.
  return { revision, services: { ...state.services, [service]: { ...prev, ...next, history } } };
}

function setSplit(state: StateSnapshot, service: string, svc: ServiceRecord, split: Record<string, number>, action: string, ctx: CommandContext): CommandResult {
  const stack = [...svc.splitHistory, svc.split];
  const splitHistory = stack.length > SPLIT_HISTORY_LIMIT ? stack.slice(stack.length - SPLIT_HISTORY_LIMIT) : stack;
  const next = { split, pools: svc.pools, splitHistory };
  return { state: commit(state, service, next, action, svc.split, split, ctx), service };
}

function replaceBackend(pool: PoolRecord, id: string, next: BackendRecord | undefined): PoolRecord {
  const backends = next === undefined ? pool.backends.filter((b) => b.id !== id) : pool.backends.map((b) => (b.id === id ? next : b));
  return { backends };
}

/**
 * Applies a command to the state: pure, throws a TurnoutError (400/404/409) when refused, so a
 * refused call changes nothing. Every accepted command raises the revision by one.
 */
export function applyCommand(state: StateSnapshot, cmd: Command, ctx: CommandContext): CommandResult {
  const svc = getService(state, cmd.service);
  const pools = Object.keys(svc.pools);
  switch (cmd.kind) {
    case 'split':
      return setSplit(state, cmd.service, svc, checkSplit(cmd.service, svc, cmd.split, ctx), 'split', ctx);
    case 'flip': {
      getPool(svc, cmd.service, cmd.to);
      return setSplit(state, cmd.service, svc, checkSplit(cmd.service, svc, flipSplit(pools, cmd.to), ctx), 'flip', ctx);
    }
    case 'canary': {
      getPool(svc, cmd.service, cmd.pool);
      if (pools.length < 2) throw new InvalidRequestError(`service "${cmd.service}" has one pool; a canary needs two`);
      if (!Number.isFinite(cmd.percent) || cmd.percent < 0 || cmd.percent > 100 || !hasTwoDecimalsAtMost(cmd.percent)) {
        throw new InvalidRequestError('percent must be between 0 and 100 with at most two decimals');
      }
      const split = canarySplit(pools, svc.split, cmd.pool, cmd.percent);
      return setSplit(state, cmd.service, svc, checkSplit(cmd.service, svc, split, ctx), 'canary', ctx);
    }
    case 'rollback': {
      const previous = svc.splitHistory[svc.splitHistory.length - 1];
      if (previous === undefined) throw new ConflictError(`service "${cmd.service}" has no earlier split to roll back to`);
      const split = completeSplit(pools, previous);
      // Rolling back to an empty pool would fail every request; the same rule as any split applies.
      checkSplit(cmd.service, svc, split, ctx);
      const next = { split, pools: svc.pools, splitHistory: svc.splitHistory.slice(0, -1) };
      return { state: commit(state, cmd.service, next, 'rollback', svc.split, split, ctx), service: cmd.service };
    }
    case 'register': {
      const pool = getPool(svc, cmd.service, cmd.pool);
      const { id, url, weight } = cmd.backend;
      if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) throw new InvalidRequestError(`weight must be an integer 0..${MAX_WEIGHT}`);
      for (const [pname, p] of Object.entries(svc.pools)) {
        if (p.backends.some((b) => b.id === id)) throw new ConflictError(`backend "${id}" already exists in ${cmd.service}/${pname}`);
      }
      const backend: BackendRecord = { id, url: url.replace(/\/$/, ''), weight, state: 'active' };
      const next = { split: svc.split, pools: { ...svc.pools, [cmd.pool]: { backends: [...pool.backends, backend] } }, splitHistory: svc.splitHistory };
      return {
        state: commit(state, cmd.service, next, 'register', null, { pool: cmd.pool, ...backend }, ctx),
        service: cmd.service,
        backend,
      };
    }
    case 'patch': {
      const pool = getPool(svc, cmd.service, cmd.pool);
      const before = getBackend(pool, cmd.service, cmd.pool, cmd.id);
      if (cmd.weight !== undefined && (!Number.isInteger(cmd.weight) || cmd.weight < 0 || cmd.weight > MAX_WEIGHT)) {
        throw new InvalidRequestError(`weight must be an integer 0..${MAX_WEIGHT}`);
      }
      let after: BackendRecord = { ...before, ...(cmd.weight !== undefined ? { weight: cmd.weight } : {}) };
      if (cmd.state !== undefined && cmd.state !== 'draining') {
        const { drain: _drop, ...rest } = after;
        after = { ...rest, state: cmd.state };
      }
      const next = { split: svc.split, pools: { ...svc.pools, [cmd.pool]: replaceBackend(pool, cmd.id, after) }, splitHistory: svc.splitHistory };
      return {
        state: commit(state, cmd.service, next, 'patch', { pool: cmd.pool, ...before }, { pool: cmd.pool, ...after }, ctx),
        service: cmd.service,
        backend: after,
      };
    }
    case 'drain': {
      const pool = getPool(svc, cmd.service, cmd.pool);
      const before = getBackend(pool, cmd.service, cmd.pool, cmd.id);
      // A second DELETE on a draining backend keeps the first deadline unless it removes and the first did not.
      const drain = before.drain && before.state === 'draining'
        ? { ...before.drain, remove: before.drain.remove || cmd.remove }
        : { startedAt: ctx.now, deadlineMs: cmd.deadlineMs, remove: cmd.remove };
      const after: BackendRecord = { ...before, state: 'draining', drain };
      const next = { split: svc.split, pools: { ...svc.pools, [cmd.pool]: replaceBackend(pool, cmd.id, after) }, splitHistory: svc.splitHistory };
      return {
        state: commit(state, cmd.service, next, cmd.remove ? 'deregister' : 'drain', { pool: cmd.pool, ...before }, { pool: cmd.pool, ...after }, ctx),
        service: cmd.service,
        backend: after,
      };
    }
    case 'remove': {
      const pool = getPool(svc, cmd.service, cmd.pool);
      const before = getBackend(pool, cmd.service, cmd.pool, cmd.id);
      const next = { split: svc.split, pools: { ...svc.pools, [cmd.pool]: replaceBackend(pool, cmd.id, undefined) }, splitHistory: svc.splitHistory };
      return {
        state: commit(state, cmd.service, next, 'remove', { pool: cmd.pool, ...before }, null, ctx),
        service: cmd.service,
      };
    }
    case 'mirror': {
      if (cmd.mirror === null && svc.mirror === undefined) throw new NotFoundError(`service "${cmd.service}" has no mirror`);
      const { mirror: _old, ...rest } = svc;
      const mirror = cmd.mirror === null ? undefined : checkMirror(cmd.mirror, pools);
      const next = mirror === undefined ? rest : { ...rest, mirror };
      const action = mirror === undefined ? 'mirror_off' : 'mirror';
      // commit() keeps fields a command does not name; this one names the mirror, so it builds the record itself.
      const state2 = commit({ ...state, services: { ...state.services, [cmd.service]: next } }, cmd.service, next, action, svc.mirror ?? null, mirror ?? null, ctx);
      return { state: state2, service: cmd.service };
    }
    case 'rollout': {
      const summary = (r: RolloutRecord | undefined): unknown =>
        r === undefined ? null : { id: r.id, pool: r.pool, state: r.state, step: r.stepIndex + 1, percent: r.steps[r.stepIndex], reason: r.reason };
      if (cmd.split === undefined) {
        const next = { split: svc.split, pools: svc.pools, splitHistory: svc.splitHistory, rollout: cmd.rollout };
        return { state: commit(state, cmd.service, next, cmd.action, summary(svc.rollout), summary(cmd.rollout), ctx), service: cmd.service };
      }
      const split = checkSplit(cmd.service, svc, cmd.split, ctx);
      const stack = [...svc.splitHistory, svc.split];
      const splitHistory = stack.length > SPLIT_HISTORY_LIMIT ? stack.slice(stack.length - SPLIT_HISTORY_LIMIT) : stack;
      const next = { split, pools: svc.pools, splitHistory, rollout: cmd.rollout };
      return {
        state: commit(state, cmd.service, next, cmd.action, { split: svc.split, rollout: summary(svc.rollout) }, { split, rollout: summary(cmd.rollout) }, ctx),
        service: cmd.service,
      };
    }
  }
}
