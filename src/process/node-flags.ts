/**
 * The Node.js flags the supervisor forks its workers with.
 *
 * V8's young generation (its semi-spaces) grows with the allocation rate: at 17,000 requests a
 * second Node 24 let it reach 103 MiB, and when it shrank back V8 kept the pages, so a worker's
 * RSS stayed ~90 MiB above what it served with (bench/README, soak). Capping the semi-space
 * bounds that; what it costs is more minor collections, measured in bench/ (docs/operations.md).
 */

/** The semi-space cap a worker gets unless the operator chose one (MiB; V8's default is 64 on Node 24). */
export const DEFAULT_SEMI_SPACE_MIB = 16;

const FLAG = '--max-semi-space-size';

/**
 * `execArgv` for a forked worker. The operator's choice wins: a `--max-semi-space-size` in
 * `NODE_OPTIONS` (which the worker inherits) means none is added; `TURNOUT_SEMI_SPACE_MIB` sets
 * the cap (`0`: V8's own default). Anything else there is an error, so a typo is not ignored.
 */
export function workerExecArgv(env: Readonly<Record<string, string | undefined>>): string[] {
  if (env.NODE_OPTIONS?.split(/\s+/).some((o) => o === FLAG || o.startsWith(`${FLAG}=`))) return [];
  const raw = env.TURNOUT_SEMI_SPACE_MIB;
  const mib = raw === undefined || raw === '' ? DEFAULT_SEMI_SPACE_MIB : Number(raw);
  if (!Number.isInteger(mib) || mib < 0 || mib > 1024) {
    throw new Error(`TURNOUT_SEMI_SPACE_MIB must be a whole number of MiB from 0 to 1024 (0: V8's default), not ${JSON.stringify(raw)}`);
  }
  return mib === 0 ? [] : [`${FLAG}=${mib}`];
}
