import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequestError, NotFoundError, PayloadTooLargeError, TurnoutError } from '../errors.js';

type Validation = NonNullable<FastifyError['validation']>[number];

/** A failed check in words: a pattern says what it expected (its description), not the regular expression. */
function say(e: Validation | undefined): string {
  const described = (e as { parentSchema?: { description?: string } } | undefined)?.parentSchema?.description;
  return e?.keyword === 'pattern' && described !== undefined ? `must be ${described}` : (e?.message ?? 'is invalid');
}

/**
 * Whatever a route, a hook or fastify threw, as an error of the catalog (src/errors.ts): schema
 * failures are 400 `invalid_request` with the path, a body over the limit 413, fastify's other
 * client errors 400 or 404; anything else is ours and a 500 `internal` that says nothing more.
 */
export function toTurnoutError(err: FastifyError | Error, bodyLimit: number): TurnoutError {
  if (err instanceof TurnoutError) return err;
  const f = err as Partial<FastifyError>;
  if (f.validation !== undefined) {
    const first = f.validation[0];
    return new InvalidRequestError(
      `${f.validationContext ?? 'request'}${first?.instancePath ?? ''} ${say(first)}`,
      f.validation.map((e) => ({ path: e.instancePath, message: say(e) })),
    );
  }
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new PayloadTooLargeError(`request body is larger than ${bodyLimit} bytes`);
  if (typeof f.statusCode === 'number' && f.statusCode < 500) {
    return f.statusCode === 404 ? new NotFoundError(err.message) : new InvalidRequestError(err.message);
  }
  return new TurnoutError('internal', 500, 'internal error', { cause: err });
}

/** The admin app's error handler: the SPEC error shape; 4xx logged at info, 5xx at error. */
export function adminErrorHandler(bodyLimit: number): (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => void {
  return (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void => {
    const e = toTurnoutError(err, bodyLimit);
    if (e.status >= 500) req.log.error({ err, route: req.routeOptions.url }, 'admin call failed');
    else req.log.info({ code: e.code, route: req.routeOptions.url, status: e.status }, e.message);
    void reply.code(e.status).header('cache-control', 'no-store').send(e.toJSON());
  };
}

/** Unknown endpoints: 404 `not_found` in the error shape. */
export function adminNotFoundHandler(req: FastifyRequest, reply: FastifyReply): void {
  void reply.code(404).send(new NotFoundError(`no such endpoint: ${req.method} ${req.url.split('?')[0]}`).toJSON());
}
