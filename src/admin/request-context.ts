import type { FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../errors.js';
import type { ExecuteOptions } from '../runtime/index.js';
import { sanitizeActor } from './auth.js';

/** `?dryRun=true` / `?force=1` style flags. */
export const truthy = (v: string | undefined): boolean => v === 'true' || v === '1';

/** `If-Match: "12"` (or W/"12", or 12) → 12; `*` or absent → undefined; anything else is a 400. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  if (m === null) throw new InvalidRequestError('If-Match must be a revision such as "12"');
  return Number(m[1]);
}

/** The actor recorded in history: the token's name, plus `X-Turnout-Actor` when given. */
export function actorOf(req: FastifyRequest): string {
  const name = req.principal?.name ?? 'unknown';
  const extra = sanitizeActor(req.headers['x-turnout-actor']);
  return extra === undefined ? name : `${name} (${extra})`;
}

/** The query flags every write takes (`force` where the route has it). */
export interface WriteFlags {
  readonly dryRun?: string | undefined;
  readonly force?: string | undefined;
}

/** How a write runs: the request's actor and If-Match, `?dryRun` and `?force`. */
export function writeOptions(req: FastifyRequest, flags: WriteFlags): ExecuteOptions {
  return { actor: actorOf(req), ifMatch: parseIfMatch(req.headers['if-match']), dryRun: truthy(flags.dryRun), force: truthy(flags.force) };
}
