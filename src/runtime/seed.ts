import type { ServiceConfig } from '../config/index.js';
import type { BackendRecord, PoolRecord, ServiceRecord, StateSnapshot } from '../model/index.js';

function seedService(cfg: ServiceConfig): ServiceRecord {
  const pools: Record<string, PoolRecord> = {};
  for (const p of cfg.poolNames) {
    pools[p] = { backends: (cfg.seedPools[p] ?? []).map((b): BackendRecord => ({ id: b.id, url: b.url, weight: b.weight, state: 'active' })) };
  }
  return { split: { ...cfg.seedSplit }, pools, splitHistory: [], history: [], ...(cfg.seedMirror !== undefined ? { mirror: cfg.seedMirror } : {}) };
}

/** The state a first start (or `--reset-state`) begins with: revision 1, everything from the config. */
export function seedState(services: Readonly<Record<string, ServiceConfig>>): StateSnapshot {
  const out: Record<string, ServiceRecord> = {};
  for (const [name, cfg] of Object.entries(services)) out[name] = seedService(cfg);
  return { revision: 1, services: out };
}

/**
 * Lines a stored state up with the config's services and pools: services and pools the config no
 * longer names are dropped, new ones are seeded (a new pool gets a 0 share); a mirror to a pool
 * that is gone stops. Everything deploy tools set on known pools is kept. Returns the same object when nothing differs.
 */
export function reconcileState(stored: StateSnapshot, services: Readonly<Record<string, ServiceConfig>>): StateSnapshot {
  let changed = false;
  const out: Record<string, ServiceRecord> = {};
  for (const [name, cfg] of Object.entries(services)) {
    const have = stored.services[name];
    if (!have) {
      out[name] = seedService(cfg);
      changed = true;
      continue;
    }
    const pools: Record<string, PoolRecord> = {};
    const split: Record<string, number> = {};
    let svcChanged = false;
    for (const p of cfg.poolNames) {
      const existing = have.pools[p];
      pools[p] = existing ?? { backends: [] };
      split[p] = have.split[p] ?? 0;
      if (!existing) svcChanged = true;
    }
    let total = 0;
    for (const p of Object.keys(have.pools)) if (!cfg.poolNames.includes(p)) svcChanged = true;
    for (const v of Object.values(split)) total += Math.round(v * 100);
    if (total !== 10_000) {
      // A removed pool held a share: fall back to the config's split rather than serve a broken one.
      Object.assign(split, cfg.seedSplit);
      svcChanged = true;
    }
    let mirror = have.mirror;
    if (mirror !== undefined && !cfg.poolNames.includes(mirror.pool)) {
      // The mirrored pool left the config: copies stop rather than go nowhere.
      mirror = undefined;
      svcChanged = true;
    }
    if (svcChanged) {
      const { mirror: _dropped, ...rest } = have;
      out[name] = { ...rest, pools, split, ...(mirror !== undefined ? { mirror } : {}) };
      changed = true;
    } else {
      out[name] = have;
    }
  }
  if (Object.keys(stored.services).some((s) => !(s in services))) changed = true;
  return changed ? { revision: stored.revision + 1, services: out } : stored;
}
