import type { Logger } from 'pino';
import type { Config, ServiceConfig } from '../config/index.js';
import type { Telemetry } from '../telemetry/index.js';
import type { BackendSet } from './backends.js';
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
  readonly telemetry: Telemetry | undefined;
  /** The served config's settings of a service; undefined once a reload removed it. */
  settings(service: string): ServiceConfig | undefined;
  event(service: string, ev: Omit<ServiceEvent, 'time'>): void;
  /** Compiles the named services again (all when none are named) and swaps the table in. */
  rebuild(services?: Iterable<string>): void;
  signal(kind: RuntimeSignal, service: string, id: string): void;
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
  readonly telemetry?: Telemetry;
}

