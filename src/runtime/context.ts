import type { Logger } from 'pino';
import type { Config, ServiceConfig } from '../config/index.js';
import type { CheckState } from '../health/index.js';
import type { TelemetrySink } from '../telemetry/index.js';
import type { BackendEntry, BackendSet } from './backends.js';
import type { ServiceEvent } from './events.js';

/** Signals the runtime emits: `change` (a state applied), `idle` (a backend's in-flight reached 0), `removed`. */
export type RuntimeSignal = 'change' | 'idle' | 'removed';

/**
 * What the runtime's parts share: the backends, the clock, the settings of the config being
 * served, events and a way to ask for a table rebuild. The Runtime facade implements it.
 */
export interface RuntimeContext {
  readonly backends: BackendSet;
  readonly log: Logger;
  readonly now: () => number;
  readonly telemetry: TelemetrySink | undefined;
  /** Requests and upgrades in flight on a backend: this process's, plus its workers' in a supervisor. */
  inFlightOf(e: BackendEntry): number;
  /** A supervisor: some worker's outlier detection ejected it. */
  ejectedElsewhere(e: BackendEntry): boolean;
  /** The served config's settings of a service; undefined once a reload removed it. */
  settings(service: string): ServiceConfig | undefined;
  event(service: string, ev: Omit<ServiceEvent, 'time'>): void;
  /** Compiles the named services again (all when none are named) and swaps the table in. */
  rebuild(services?: Iterable<string>): void;
  signal(kind: RuntimeSignal, service: string, id: string): void;
  /** Where the round robin of a pool being (re)built starts. */
  balancerStart(): number;
}

/** Asks the control plane to remove a drained backend; resolves false when it must wait (others in the fleet still serve it). */
export type RemoveBackend = (service: string, pool: string, id: string, atDeadline: boolean) => Promise<boolean>;

/** Node timers overflow past 2^31-1 ms (about 24.8 days) and would fire at once: cap and re-arm. */
export const MAX_TIMER_MS = 2_147_483_647;

export interface RuntimeOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
  /**
   * Asks the control plane to remove a drained backend (a write through the store). Resolves
   * false when it must wait (other fleet instances still have requests on it).
   */
  readonly removeBackend?: RemoveBackend;
  /** Metrics and live windows; the runtime forwards what the proxy reports. */
  readonly telemetry?: TelemetrySink;
  /**
   * A worker: health comes from the supervisor's checks (`Runtime.setHealth`) instead of probes
   * of its own, and events go to `onEvent` as well.
   */
  readonly givenHealth?: boolean;
  /** A worker: every event, for the supervisor's event log. */
  readonly onEvent?: (service: string, ev: Omit<ServiceEvent, 'time'>) => void;
  /**
   * Where each pool's round robin starts when its table is (re)built (default 0: the first
   * backend). Workers draw it at random: with one start, every worker would send its next request
   * after each change to the same backend.
   */
  readonly balancerStart?: () => number;
  /** A supervisor: what its workers report (in-flight, ejections), added to this process's own facts. */
  readonly remote?: RemoteFacts;
}

/** What a supervisor's workers report of a backend. */
export interface RemoteFacts {
  /** In flight on it in the workers (at least 1 while a worker has not reported since the last state). */
  inFlight(service: string, id: string): number;
  /** Some worker's outlier detection ejected it. */
  ejected(service: string, id: string): boolean;
}

/** Health of each backend as the supervisor's checks see it, by entry key. */
export type HealthFacts = Readonly<Record<string, CheckState>>;

