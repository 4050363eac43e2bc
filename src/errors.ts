/**
 * The one catalog of errors turnout answers with. Codes are the ones in SPEC.md. The admin API's
 * errors are TurnoutErrors carrying their HTTP status, so they are mapped in a single place; the
 * proxy's own answers take theirs from PROXY_ERROR_STATUS. Start-up errors carry no status: the
 * CLI prints their message and exits.
 */

export type ErrorDetails = Record<string, unknown> | unknown[];

export class TurnoutError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: ErrorDetails | undefined;

  constructor(code: string, status: number, message: string, options?: { cause?: unknown; details?: ErrorDetails }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options?.details;
  }

  toJSON(): { error: { code: string; message: string; details?: ErrorDetails } } {
    return this.details === undefined
      ? { error: { code: this.code, message: this.message } }
      : { error: { code: this.code, message: this.message, details: this.details } };
  }
}

// Admin / control plane.
export class InvalidRequestError extends TurnoutError {
  constructor(message: string, details?: ErrorDetails) {
    super('invalid_request', 400, message, details === undefined ? undefined : { details });
  }
}
export class UnauthorizedError extends TurnoutError {
  constructor(message = 'a valid bearer token is required') {
    super('unauthorized', 401, message);
  }
}
export class ForbiddenError extends TurnoutError {
  constructor(message = 'this token may only read') {
    super('forbidden', 403, message);
  }
}
export class NotFoundError extends TurnoutError {
  constructor(message: string) {
    super('not_found', 404, message);
  }
}
export class ConflictError extends TurnoutError {
  constructor(message: string, details?: ErrorDetails) {
    super('conflict', 409, message, details === undefined ? undefined : { details });
  }
}
export class RevisionMismatchError extends TurnoutError {
  constructor(expected: number, actual: number) {
    super('revision_mismatch', 412, `If-Match revision ${expected} is stale; the current revision is ${actual}`, {
      details: { expected, actual },
    });
  }
}
export class PayloadTooLargeError extends TurnoutError {
  constructor(message = 'request body is too large') {
    super('payload_too_large', 413, message);
  }
}
export class StoreUnavailableError extends TurnoutError {
  constructor(message: string, cause?: unknown) {
    super('store_unavailable', 503, message, cause === undefined ? undefined : { cause });
  }
}

// Data plane: answers the proxy itself gives.
export type ProxyErrorCode = 'no_backend' | 'upstream_error' | 'upstream_timeout' | 'no_route' | 'unsupported_protocol';

export const PROXY_ERROR_STATUS: Readonly<Record<ProxyErrorCode, number>> = {
  no_backend: 503,
  upstream_error: 502,
  upstream_timeout: 504,
  no_route: 404,
  // A gRPC request to a service whose upstreamProtocol is http1 (gRPC needs h2 to the backend); a
  // gRPC client sees grpc-status 12 UNIMPLEMENTED, never this status.
  unsupported_protocol: 501,
};

/** A reload's config file is invalid: 400 with the key-path problems start-up gives; nothing changed. */
export class ConfigInvalidError extends TurnoutError {
  constructor(message: string, problems: readonly string[]) {
    super('config_invalid', 400, message, { details: [...problems] });
  }
}

/** A config file turnout cannot run on, with every problem found (`turnout serve` exits 2). */
export class ConfigError extends Error {
  readonly file: string;
  readonly problems: readonly string[];
  constructor(file: string, problems: readonly string[]) {
    super(`invalid config ${file}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

/** A state file that cannot be read or moved aside (`turnout serve` exits 1). */
export class StateFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateFileError';
  }
}

/** Why an upstream attempt failed, as a metric label and to decide retries. */
export type UpstreamFailure = 'connect_refused' | 'connect_timeout' | 'connect_reset' | 'reset' | 'timeout' | 'error';

/**
 * The one place that maps socket and undici errors to a failure kind. `beforeSend` is true when
 * nothing was written to the backend yet, which makes any method safe to retry.
 */
export function classifyUpstreamError(err: unknown, connected: boolean): UpstreamFailure {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'connect_refused';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect_timeout';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return connected ? 'timeout' : 'connect_timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return connected ? 'reset' : 'connect_reset';
    default:
      return 'error';
  }
}

export function proxyCodeFor(failure: UpstreamFailure): ProxyErrorCode {
  return failure === 'timeout' || failure === 'connect_timeout' ? 'upstream_timeout' : 'upstream_error';
}
