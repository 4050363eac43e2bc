import { InvalidRequestError } from '../errors.js';
import { checkMirror } from '../model/index.js';
import type { MirrorRecord } from '../model/index.js';
import type { RawServiceConfig } from './schema.js';

/**
 * A service's `mirror:` with its defaults filled, as `{seedMirror}` to spread into the service's
 * settings (nothing when absent). The model's own check decides, so the file and
 * `PUT /v1/services/:svc/mirror` accept the same mirrors; a refusal becomes a problem at its key
 * path (`services.web.mirror.pool: ...`).
 */
export function seedMirror(raw: RawServiceConfig['mirror'], pools: readonly string[], at: string, problems: string[]): { seedMirror?: MirrorRecord } {
  if (raw === undefined) return {};
  try {
    return { seedMirror: checkMirror(raw, pools) };
  } catch (err) {
    if (!(err instanceof InvalidRequestError)) throw err;
    const d = (err.details as readonly { path: string; message: string }[] | undefined)?.[0];
    // "/methods/1" → "methods[1]", as the file's other key paths name list items.
    const key = (d?.path ?? '').slice(1).replace(/\/(\d+)/g, '[$1]');
    problems.push(`${at}.mirror${key === '' ? '' : `.${key}`}: ${d?.message ?? err.message}`);
    return {};
  }
}
