import type { ServiceConfig } from '../config/index.js';
import { INITIAL_CHECK_STATE, INITIAL_OUTLIER_STATE, isEjected } from '../health/index.js';
import type { CheckState, OutlierState } from '../health/index.js';
import { isEligible } from '../model/index.js';
import type { BackendRecord, EligibilityFacts } from '../model/index.js';
import { Upstream } from '../proxy/index.js';

/** One backend's local life in this process: its upstream and the facts only this instance knows. */
export interface BackendEntry {
  readonly key: string;
  readonly service: string;
  pool: string;
  record: BackendRecord;
  /** The service's settings this entry was last synced with (a reload may change them). */
  settings: ServiceConfig;
  upstream: Upstream;
  check: CheckState;
  outlier: OutlierState;
  ejectTimer: NodeJS.Timeout | undefined;
  /** Epoch ms it last became eligible (slow start); undefined while not eligible. */
  eligibleSince: number | undefined;
  drainTimer: NodeJS.Timeout | undefined;
  /** Drain already acted on (idle sockets closed, event written) for this drain start. */
  drainSeen: string | undefined;
  removing: boolean;
}

export const keyOf = (service: string, id: string): string => `${service}\u0000${id}`;

/** The upstream options a service's settings give; a change needs a new Upstream. */
export function upstreamFor(record: BackendRecord, settings: ServiceConfig): Upstream {
  return new Upstream(record.id, record.url, {
    connectTimeoutMs: settings.connectTimeoutMs,
    rejectUnauthorized: settings.rejectUnauthorized,
    keepAliveTimeoutMs: settings.idleTimeoutMs,
    protocol: settings.upstreamProtocol,
  });
}

/** True when `next` would build its upstreams differently from `prev`. */
export function upstreamOptionsDiffer(prev: ServiceConfig, next: ServiceConfig): boolean {
  return prev.connectTimeoutMs !== next.connectTimeoutMs || prev.rejectUnauthorized !== next.rejectUnauthorized || prev.idleTimeoutMs !== next.idleTimeoutMs || prev.upstreamProtocol !== next.upstreamProtocol;
}

/** The facts the eligibility rule reads, for one entry at `now`. */
export function factsOf(e: BackendEntry, now: number): EligibilityFacts {
  return { state: e.record.state, weight: e.record.weight, health: e.check.health, checked: e.settings.healthCheck !== undefined, ejected: isEjected(e.outlier, now) };
}

export const entryEligible = (e: BackendEntry, now: number): boolean => isEligible(factsOf(e, now));

/** This process's backends, by service and id and by upstream object (the hot path looks up without building a key). */
export class BackendSet {
  private readonly byKey = new Map<string, BackendEntry>();
  private readonly byUp = new Map<Upstream, BackendEntry>();

  get(service: string, id: string): BackendEntry | undefined {
    return this.byKey.get(keyOf(service, id));
  }

  getByKey(key: string): BackendEntry | undefined {
    return this.byKey.get(key);
  }

  ofUpstream(up: Upstream): BackendEntry | undefined {
    return this.byUp.get(up);
  }

  values(): IterableIterator<BackendEntry> {
    return this.byKey.values();
  }

  /** Still the live entry for its key (timers check this before acting). */
  isCurrent(e: BackendEntry): boolean {
    return this.byKey.get(e.key) === e;
  }

  create(service: string, pool: string, record: BackendRecord, settings: ServiceConfig): BackendEntry {
    const entry: BackendEntry = {
      key: keyOf(service, record.id),
      service,
      pool,
      record,
      settings,
      upstream: upstreamFor(record, settings),
      check: INITIAL_CHECK_STATE,
      outlier: INITIAL_OUTLIER_STATE,
      ejectTimer: undefined,
      eligibleSince: undefined,
      drainTimer: undefined,
      drainSeen: undefined,
      removing: false,
    };
    this.byKey.set(entry.key, entry);
    this.byUp.set(entry.upstream, entry);
    return entry;
  }

  /** Gives the entry a new upstream (new options); returns the old one, no longer looked up. */
  swapUpstream(e: BackendEntry, next: Upstream): Upstream {
    const old = e.upstream;
    this.byUp.delete(old);
    e.upstream = next;
    this.byUp.set(next, e);
    return old;
  }

  delete(e: BackendEntry): void {
    this.byKey.delete(e.key);
    this.byUp.delete(e.upstream);
    if (e.ejectTimer !== undefined) clearTimeout(e.ejectTimer);
    if (e.drainTimer !== undefined) clearTimeout(e.drainTimer);
    e.ejectTimer = undefined;
    e.drainTimer = undefined;
  }

  clear(): void {
    this.byKey.clear();
    this.byUp.clear();
  }
}
