import type { Logger } from 'pino';
import { TurnoutError } from '../errors.js';
import type { WorkerChild } from './child.js';

/** What an upgrade answers. */
export interface UpgradeOutcome {
  readonly generation: number;
  readonly started: readonly number[];
  readonly replaced: readonly number[];
  /** `wait`: the old workers exited (false: the drain deadline cut something). */
  readonly drained?: boolean;
  /** `supervisor`: the new supervisor's pid and this one's. */
  readonly supervisor?: { readonly pid: number; readonly replaced: number };
}

/** How long a new worker may take to build its table. */
const START_MS = 30_000;

export interface UpgradeSteps {
  readonly generation: number;
  /** The workers serving now (they drain once the new ones serve). */
  readonly old: readonly WorkerChild[];
  /** Starts the new workers (not replaceable until ready). */
  readonly spawn: () => WorkerChild[];
  readonly drain: (w: WorkerChild) => Promise<WorkerChild['cut']>;
  readonly wait: boolean;
  readonly logger: Logger;
}

/**
 * New workers from the code on disk; once they serve, the old ones drain (no new connection,
 * Connection: close to keep-alive clients, in-flight finishes, upgraded connections get 1001 at
 * the deadline) and exit. With `wait`, resolves once they exited. New workers that do not start
 * are killed and the old ones keep serving (`upgrade_failed`).
 */
export async function upgradeWorkers(s: UpgradeSteps): Promise<UpgradeOutcome> {
  const fresh = s.spawn();
  try {
    await Promise.all(fresh.map((w) => Promise.race([w.ready, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`worker ${w.pid} was not ready within ${START_MS}ms`)), START_MS).unref())])));
  } catch (err) {
    for (const w of fresh) {
      w.state = 'draining';
      w.process.kill('SIGKILL');
    }
    await Promise.all(fresh.map((w) => w.exit));
    throw new TurnoutError('upgrade_failed', 500, `the new workers did not start, the old ones keep serving: ${(err as Error).message}`);
  }
  const exits = s.old.map((w) => s.drain(w));
  const outcome = { generation: s.generation, started: fresh.map((w) => w.pid), replaced: s.old.map((w) => w.pid) };
  s.logger.info(outcome, 'upgrade: new workers serve; the old ones drain');
  if (!s.wait) return outcome;
  const cuts = await Promise.all(exits);
  return { ...outcome, drained: cuts.every((c) => c.cutRequests === 0 && c.closedUpgrades === 0) };
}
