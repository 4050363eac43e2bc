import type { ControlPlane } from '../runtime/index.js';
import type { StateStore } from '../store/index.js';
import { MIRROR_KEY_SUFFIX } from '../telemetry/index.js';
import type { Telemetry } from '../telemetry/index.js';
import type { MirrorPort } from './ports.js';

/**
 * The rollout's mirror-first phase on this process's own mirroring (SPEC "Mirroring"): the copies
 * are started and stopped as a state change (revision, history, fleet), and judged on the mirrored
 * pool's answers here and on the other instances (the counts each reports under `pool#mirror`).
 */
export function localMirror(control: ControlPlane, telemetry: Telemetry, store: StateStore): MirrorPort {
  return {
    async set(service, mirror) {
      // Already off (stopped by hand with DELETE .../mirror): nothing to stop, and the abort or rollback goes on.
      if (mirror === null && control.current.services[service]?.mirror === undefined) return;
      await control.execute({ kind: 'mirror', service, mirror }, { actor: 'turnout:rollout' });
    },
    totals(service, pool) {
      const local = telemetry.mirrorTotals(service, pool);
      const fleet = store.fleet.othersPoolTotals(`${service}/${pool}${MIRROR_KEY_SUFFIX}`);
      return { requests: local.requests + fleet.requests, errors: local.errors + fleet.errors };
    },
    p99Ms: (service, pool, nowMs, seconds) => telemetry.mirrorWindow(service, pool, nowMs, seconds).p99Ms,
  };
}
