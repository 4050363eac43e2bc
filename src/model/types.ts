/**
 * The stored state: what deploy tools own (pools, backends, weights, splits) plus history.
 * Plain JSON-serialisable data; every accepted change produces a new object and raises `revision`.
 */

export type AdminState = 'active' | 'draining' | 'maint';
export type Health = 'unknown' | 'healthy' | 'unhealthy';

import type { RolloutRecord } from './rollout.js';

/** Percent per pool, two decimals, summing to 100. */
export type Split = Readonly<Record<string, number>>;

export interface DrainRecord {
  /** ISO time the drain started. */
  readonly startedAt: string;
  /** Epoch ms after which remaining connections are cut. */
  readonly deadlineMs: number;
  /** true: remove the backend once drained (DELETE); false: stay `draining` (PATCH). */
  readonly remove: boolean;
}

export interface BackendRecord {
  readonly id: string;
  /** `http://host:port` or `https://host:port`. */
  readonly url: string;
  /** 0..1000 (default 100); 0 takes no new requests. */
  readonly weight: number;
  readonly state: AdminState;
  readonly drain?: DrainRecord;
}

export interface PoolRecord {
  readonly backends: readonly BackendRecord[];
}

export interface HistoryEntry {
  readonly revision: number;
  readonly time: string;
  readonly actor: string;
  readonly action: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface ServiceRecord {
  readonly split: Split;
  /** Pools in their declared order. */
  readonly pools: Readonly<Record<string, PoolRecord>>;
  /** Split changes, newest last, so rollback can restore the one before the last change. */
  readonly splitHistory: readonly Split[];
  /** Last 100 changes, newest last. */
  readonly history: readonly HistoryEntry[];
  /** The current or last automated canary of this service. */
  readonly rollout?: RolloutRecord;
  /** Copies of a share of the service's requests go to a pool (SPEC "Mirroring"); absent: none. */
  readonly mirror?: MirrorRecord;
}

/**
 * A service's mirroring (SPEC "Mirroring"): a copy of `percent` of its requests goes to a backend
 * of `pool`, its answer read and discarded. Stored with every default filled in.
 */
export interface MirrorRecord {
  readonly pool: string;
  /** Share of the service's requests copied, 0..100, two decimals. */
  readonly percent: number;
  /** Methods copied, upper case (default GET, HEAD: a copied POST may charge a card twice). */
  readonly methods: readonly string[];
  /** A request whose body is larger is not copied (bytes, default 1 MiB). */
  readonly maxBodyBytes: number;
  /** Copies of the service out at once; past it a copy is dropped and counted (default 100). */
  readonly maxInFlight: number;
}

export interface StateSnapshot {
  readonly revision: number;
  readonly services: Readonly<Record<string, ServiceRecord>>;
}

export const HISTORY_LIMIT = 100;
export const SPLIT_HISTORY_LIMIT = 20;
export const MAX_POOLS = 8;
export const MAX_WEIGHT = 1000;
export const DEFAULT_WEIGHT = 100;
