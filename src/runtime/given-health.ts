import { INITIAL_CHECK_STATE } from '../health/index.js';
import type { BackendEntry } from './backends.js';
import type { HealthFacts, RuntimeContext } from './context.js';

/**
 * A worker's health: the supervisor probes each backend once for every worker and sends the
 * results; this applies them to the entries (new entries take the last known result) and
 * rebuilds the services whose health changed. Nothing is probed here.
 */
export class GivenHealth {
  private facts: HealthFacts = {};

  constructor(private readonly ctx: RuntimeContext) {}

  /** The supervisor's results: every checked backend's state. */
  set(facts: HealthFacts): void {
    this.facts = facts;
    const changed = new Set<string>();
    for (const e of this.ctx.backends.values()) {
      const next = facts[e.key] ?? INITIAL_CHECK_STATE;
      if (next.health !== e.check.health) changed.add(e.service);
      e.check = next;
    }
    if (changed.size > 0) this.ctx.rebuild(changed);
  }

  /** A new entry starts from what the supervisor last said of it. */
  adopt(e: BackendEntry): void {
    const f = this.facts[e.key];
    if (f !== undefined) e.check = f;
  }

  sync(): void {}

  async warm(): Promise<void> {}

  async close(): Promise<void> {}
}
