import { InvalidRequestError } from '../errors.js';
import { hasTwoDecimalsAtMost } from './split.js';
import type { MirrorRecord } from './types.js';

/** What a caller gives: the pool and percent, the rest optional. */
export interface MirrorRequest {
  readonly pool: string;
  readonly percent: number;
  readonly methods?: readonly string[] | undefined;
  readonly maxBodyBytes?: number | undefined;
  readonly maxInFlight?: number | undefined;
}

export const MIRROR_DEFAULT_METHODS: readonly string[] = ['GET', 'HEAD'];
export const MIRROR_DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const MIRROR_DEFAULT_MAX_IN_FLIGHT = 100;
export const MIRROR_MAX_IN_FLIGHT_LIMIT = 100_000;
/** An HTTP method as a token, upper case. */
const METHOD = /^[A-Z][A-Z_-]{0,31}$/;

/** A problem with one key of a mirror, as the admin API reports schema errors: the path and what is wrong. */
function bad(path: string, message: string): InvalidRequestError {
  return new InvalidRequestError(`mirror.${path} ${message}`, [{ path: `/${path}`, message }]);
}

/**
 * The mirror `req` asks for on a service with `pools`, defaults filled, or a 400 naming the key:
 * an unknown pool, a percent outside 0..100 or with more than two decimals, a method that is not a
 * token, sizes out of range. Pure.
 */
export function checkMirror(req: MirrorRequest, pools: readonly string[]): MirrorRecord {
  if (!pools.includes(req.pool)) return fail(bad('pool', `names unknown pool "${req.pool}" (pools: ${pools.join(', ')})`));
  const pct = req.percent;
  if (!Number.isFinite(pct) || pct < 0 || pct > 100 || !hasTwoDecimalsAtMost(pct)) {
    return fail(bad('percent', 'must be between 0 and 100 with at most two decimals'));
  }
  const methods = req.methods ?? MIRROR_DEFAULT_METHODS;
  if (methods.length === 0) return fail(bad('methods', 'must list at least one method'));
  for (let i = 0; i < methods.length; i++) {
    if (!METHOD.test(methods[i] as string)) return fail(bad(`methods/${i}`, 'must be an HTTP method in upper case, such as GET'));
  }
  const maxBodyBytes = req.maxBodyBytes ?? MIRROR_DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 0) return fail(bad('maxBodyBytes', 'must be an integer >= 0'));
  const maxInFlight = req.maxInFlight ?? MIRROR_DEFAULT_MAX_IN_FLIGHT;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > MIRROR_MAX_IN_FLIGHT_LIMIT) {
    return fail(bad('maxInFlight', `must be an integer 1..${MIRROR_MAX_IN_FLIGHT_LIMIT}`));
  }
  return { pool: req.pool, percent: pct, methods: [...new Set(methods)], maxBodyBytes, maxInFlight };
}

function fail(err: Error): never {
  throw err;
}
