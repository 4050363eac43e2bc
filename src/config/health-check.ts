import type { RawServiceConfig } from './schema.js';

type RawHealthCheck = NonNullable<RawServiceConfig['healthCheck']>;

/**
 * A check is one kind: HTTP (`path`, `expectStatus`) or gRPC (`grpc: true`, `grpcService`), never
 * both and never neither. Problems are named by key path, like every other config problem.
 */
export function healthCheckKindProblems(hc: RawHealthCheck, at: string): string[] {
  if (hc.grpc === true) {
    const out: string[] = [];
    if (hc.path !== undefined) out.push(`${at}.path: not with grpc: true (a gRPC check calls grpc.health.v1.Health/Check; drop path, or grpc)`);
    if (hc.expectStatus !== undefined) out.push(`${at}.expectStatus: not with grpc: true (a gRPC check passes on SERVING)`);
    return out;
  }
  if (hc.grpcService !== undefined) return [`${at}.grpcService: only with grpc: true`];
  if (hc.path === undefined) return [`${at}.path: required (or grpc: true for a gRPC health check)`];
  return [];
}
