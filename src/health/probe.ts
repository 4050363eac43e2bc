import type { HealthCheckSettings } from '../config/index.js';

export interface CheckTarget {
  /** Unique per backend (service + id). */
  readonly key: string;
  readonly url: string;
  readonly settings: HealthCheckSettings;
  readonly rejectUnauthorized: boolean;
}

export interface ProbeResult {
  readonly passed: boolean;
  /** What the probe saw: "status 503", "ECONNREFUSED", "timeout after 2000ms", "NOT_SERVING". */
  readonly detail: string;
}

/** One kind of probe (HTTP GET, gRPC health): the checker schedules, a probe asks once. */
export interface Probe {
  probe(target: CheckTarget): Promise<ProbeResult>;
  /** Releases what it keeps for backends not in `keys` (the checker's current targets). */
  retain(keys: ReadonlySet<string>): void;
  close(): Promise<void>;
}

/** The gRPC health method, as events and docs name it. */
export const GRPC_HEALTH_CHECK = 'grpc.health.v1.Health/Check';

/** What a check asks, for events: `/health` for HTTP, `grpc.health.v1.Health/Check` (`("svc")`) for gRPC. */
export function checkName(s: HealthCheckSettings): string {
  if (s.grpc === undefined) return s.path;
  return s.grpc.service === '' ? GRPC_HEALTH_CHECK : `${GRPC_HEALTH_CHECK}("${s.grpc.service}")`;
}

/** The request a check makes, for event messages: `GET /health` or `grpc.health.v1.Health/Check`. */
export function checkRequest(s: HealthCheckSettings): string {
  return s.grpc === undefined ? `GET ${s.path}` : checkName(s);
}

/** What passes, for event details: `200-399` or `SERVING`. */
export function checkExpects(s: HealthCheckSettings): string {
  return s.grpc === undefined ? `${s.expectStatusMin}-${s.expectStatusMax}` : 'SERVING';
}
