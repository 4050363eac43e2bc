import type { Server } from 'node:net';
import type { Config } from '../config/index.js';
import { ConflictError } from '../errors.js';
import type { WorkerPool } from './pool.js';
import { startSuccessor } from './successor.js';
import type { UpgradeOutcome } from './upgrade.js';

export interface SupervisorUpgradeSteps {
  readonly pool: WorkerPool;
  readonly config: Config;
  /** The admin listener: its socket goes to the new supervisor, then this one stops accepting on it. */
  readonly admin: { readonly server: Server };
  /** Environment the new supervisor gets on top of this one's. */
  readonly env: Readonly<Record<string, string>>;
  readonly wait: boolean;
  /** The rest of this supervisor's stop, once its workers drained (`drained`). */
  readonly stop: (drained: Promise<{ cutRequests: number; closedUpgrades: number }>) => void;
}

let underWay = false;

/**
 * `turnout upgrade --supervisor`: a new supervisor from the code on disk gets this one's listening
 * sockets (the admin listener's and every worker slot's: the same sockets, so nothing queued is
 * lost and nothing is refused), starts its own workers on them, and once they serve this one stops
 * accepting admin calls, drains its workers and exits. With `wait`, answers once they drained.
 */
export async function upgradeSupervisor(s: SupervisorUpgradeSteps): Promise<UpgradeOutcome> {
  if (s.pool.acceptorKind !== 'reuseport') {
    throw new ConflictError('the supervisor hands connections over (no SO_REUSEPORT on this runtime): it cannot pass its listeners on; restart it instead');
  }
  if (s.config.state.store === 'memory') {
    throw new ConflictError('state.store is memory: a new supervisor would start from the config file and lose the state; use a file or redis store');
  }
  if (underWay) throw new ConflictError('a supervisor upgrade is already under way');
  underWay = true;
  let next: { readonly pid: number; readonly workers: readonly number[] };
  try {
    const admin = (s.admin.server as unknown as { _handle?: object })._handle ?? undefined;
    next = await startSuccessor({ admin, data: s.pool.listenerHandles }, s.env);
  } catch (err) {
    underWay = false;
    throw err;
  }
  // The new supervisor accepts admin calls on the same socket from now on.
  s.admin.server.close();
  s.pool.handedOver();
  const replaced = s.pool.workersInfo().filter((w) => w.state !== 'orphaned').map((w) => w.pid);
  const drained = s.pool.shutdown(s.config.shutdownTimeoutMs);
  s.stop(drained);
  const outcome = { generation: 1, started: next.workers, replaced, supervisor: { pid: next.pid, replaced: process.pid } };
  if (!s.wait) return outcome;
  const cut = await drained;
  return { ...outcome, drained: cut.cutRequests === 0 && cut.closedUpgrades === 0 };
}
