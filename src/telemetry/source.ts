import type { Health } from '../model/index.js';

/** What the telemetry reads at scrape or snapshot time (the runtime provides it). */
export interface TelemetrySource {
  readonly revision: number;
  /** Every service with its split, its backends' live view, and its mirror when it has one. */
  forEachService(cb: (service: string, split: Readonly<Record<string, number>>, pools: readonly PoolLive[], mirror?: MirrorLive) => void): void;
}

/** A service's mirror as the live views show it (SPEC "Mirroring"). */
export interface MirrorLive {
  readonly pool: string;
  readonly percent: number;
}

export interface PoolLive {
  readonly name: string;
  readonly backends: readonly BackendLive[];
}

export interface BackendLive {
  readonly id: string;
  readonly state: 'active' | 'draining' | 'maint';
  readonly health: Health;
  readonly ejected: boolean;
  readonly weight: number;
  readonly effectiveWeight: number;
  readonly inFlight: number;
  /** May take traffic as far as health goes: healthy, or unknown when the service has no check. */
  readonly healthOk: boolean;
  /** The object the proxy reports outcomes with (identity key for per-backend stats). */
  readonly key: object;
}
