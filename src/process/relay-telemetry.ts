import type { TelemetrySink, TelemetrySource } from '../telemetry/index.js';
import { OP_EJECTION, OP_GRPC_RESPONSE, OP_HOLD_DONE, OP_MIRROR_ANSWER, OP_MIRROR_DROPPED, OP_PROXY_ERROR, OP_RESPONSE, OP_UPSTREAM_FAILURE, REC_SIZE } from './protocol.js';

/**
 * A worker's telemetry: outcomes are appended to a flat number buffer (six numbers, names as
 * indexes of a string table sent once) and taken by the next report, so the supervisor's
 * Telemetry counts every worker's requests. Per request: a few array writes, no object.
 */
export class RelayTelemetry implements TelemetrySink {
  private buf = new Float64Array(REC_SIZE * 1024);
  private n = 0;
  private readonly index = new Map<string, number>();
  private readonly strings: string[] = [];
  private sent = 0;
  private readonly waitingNow = new Map<string, number>();

  attach(_source: TelemetrySource): void {}

  forget(_backendKey: object): void {}

  onHealthCheck(): void {}

  onResponse(service: string, pool: string, _key: object, backendId: string, status: number, durationMs: number): void {
    this.push(OP_RESPONSE, service, pool, backendId, status, durationMs);
  }

  onGrpcResponse(service: string, pool: string, _key: object, backendId: string, status: number, grpcStatus: number, failed: boolean, durationMs: number): void {
    this.push(OP_GRPC_RESPONSE, service, pool, backendId, grpcStatus * 10000 + status * 10 + (failed ? 1 : 0), durationMs);
  }

  onProxyError(service: string, pool: string, status: number, durationMs: number): void {
    this.push(OP_PROXY_ERROR, service, pool, '', status, durationMs);
  }

  onUpstreamFailure(service: string, pool: string, backendId: string, reason: string, retried: boolean): void {
    this.push(OP_UPSTREAM_FAILURE, service, pool, backendId, this.str(reason), retried ? 1 : 0);
  }

  onHoldWaiting(service: string, waiting: number): void {
    this.waitingNow.set(service, waiting);
  }

  onHoldDone(service: string, waitedMs: number, timedOut: boolean): void {
    this.push(OP_HOLD_DONE, service, '', '', timedOut ? 1 : 0, waitedMs);
  }

  onEjection(service: string, pool: string, backendId: string): void {
    this.push(OP_EJECTION, service, pool, backendId, 0, 0);
  }

  onMirrorAnswer(service: string, pool: string, backendId: string, status: number, durationMs: number): void {
    this.push(OP_MIRROR_ANSWER, service, pool, backendId, status, durationMs);
  }

  onMirrorDropped(service: string, pool: string, reason: string): void {
    this.push(OP_MIRROR_DROPPED, service, pool, '', this.str(reason), 0);
  }

  /** Anything to report since the last take. */
  get pending(): boolean {
    return this.n > 0;
  }

  /** Requests waiting in each service's hold queue now. */
  waiting(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [svc, n] of this.waitingNow) if (n > 0) out[svc] = n;
    return out;
  }

  /** The records since the last take, and the strings they name that were not sent yet. */
  take(): { rec: Float64Array; strings: string[]; stringsFrom: number } {
    const rec = this.buf.slice(0, this.n);
    this.n = 0;
    const stringsFrom = this.sent;
    const strings = this.strings.slice(stringsFrom);
    this.sent = this.strings.length;
    return { rec, strings, stringsFrom };
  }

  private str(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    return i;
  }

  private push(op: number, service: string, pool: string, backend: string, a: number, b: number): void {
    if (this.n + REC_SIZE > this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    const buf = this.buf;
    const n = this.n;
    buf[n] = op;
    buf[n + 1] = this.str(service);
    buf[n + 2] = this.str(pool);
    buf[n + 3] = this.str(backend);
    buf[n + 4] = a;
    buf[n + 5] = b;
    this.n = n + REC_SIZE;
  }
}
