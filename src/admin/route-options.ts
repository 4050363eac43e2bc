import type { Logger } from 'pino';
import type { Config, ConfigChange } from '../config/index.js';
import type { UpgradeOutcome } from '../process/index.js';
import type { RolloutController } from '../rollout/index.js';
import type { ControlPlane, Runtime } from '../runtime/index.js';
import type { StateStore } from '../store/index.js';
import type { Telemetry } from '../telemetry/index.js';
import type { StateAccess } from './state-access.js';

export interface AdminOptions {
  readonly config: Config;
  readonly runtime: Runtime;
  readonly control: ControlPlane;
  readonly store: StateStore;
  readonly telemetry: Telemetry;
  readonly rollouts: RolloutController;
  readonly logger: Logger;
  /** Readiness: false once shutdown began. */
  readonly isReady: () => boolean;
  /** Reads the config file again and applies it; absent when this process cannot reload. */
  readonly reload?: (opts: { readonly dryRun: boolean }) => Promise<{ readonly revision: number; readonly changes: readonly ConfigChange[]; readonly dryRun?: boolean }>;
  /** New workers from the code on disk, the old ones drained; absent (409) when the data plane runs in this process. */
  readonly upgrade?: (opts: { readonly wait: boolean; readonly supervisor?: boolean }) => Promise<UpgradeOutcome>;
  /** Every worker reports now (a supervisor's tally, bounded): `/metrics` is then as of the call. */
  readonly fresh?: () => Promise<void>;
  /** Milliseconds between two `/v1/stream` snapshots (default 1000). */
  readonly streamIntervalMs?: number;
}

/** What every route plugin is registered with: the admin options and the shared state access. */
export interface RouteOptions extends AdminOptions {
  readonly access: StateAccess;
}
