import type { TelemetrySink, TelemetrySource } from '../telemetry/index.js';
import { durationClass } from '../telemetry/index.js';
import { OutcomeTable } from './outcome-table.js';
import { OP_EJECTION, OP_GRPC_RESPONSE, OP_HOLD_DONE, OP_MIRROR_ANSWER, OP_MIRROR_DROPPED, OP_PROXY_ERROR, OP_H2, OP_RESPONSE, OP_UPSTREAM_FAILURE } from './protocol.js';

/**
 * A worker's telemetry: outcomes are grouped (OutcomeTable: names as indexes of a string table
 * sent once, durations by class) and taken by the next report, so the supervisor's Telemetry counts
 * every worker's requests while its work per report stays the same at any traffic. Per request: a
 * hash lookup in typed arrays, no object.
 */
export class RelayTelemetry implements TelemetrySink {
  private readonly table = new OutcomeTable();
  private readonly index = new Map<string, number>();
  private readonly strings: string[] = [];
  private sent = 0;
  private readonly waitingNow = new Map<string, number>();

  attach(_source: TelemetrySource): void {}

  forget(_backendKey: object): void {}

  onHealthCheck(): void {}

  onResponse(service: string, pool: string, _key: object, backendId: string, status: number, durationMs: number, h2 = false): void {
    this.push(h2 ? OP_RESPONSE + OP_H2 : OP_RESPONSE, service, pool, backendId, status, durationClass(durationMs), durationMs);
  }

  onGrpcResponse(service: string, pool: string, _key: object, backendId: string, status: number, grpcStatus: number, failed: boolean, durationMs: number, h2 = true): void {
    this.push(h2 ? OP_GRPC_RESPONSE + OP_H2 : OP_GRPC_RESPONSE, service, pool, backendId, grpcStatus * 10000 + status * 10 + (failed ? 1 : 0), durationClass(durationMs), durationMs);
  }

  onProxyError(service: string, pool: string, status: number, durationMs: number): void {
    this.push(OP_PROXY_ERROR, service, pool, '', status, durationClass(durationMs), durationMs);
  }

  onUpstreamFailure(service: string, pool: string, backendId: string, reason: string, retried: boolean): void {
    this.push(OP_UPSTREAM_FAILURE, service, pool, backendId, this.str(reason), retried ? 1 : 0, 0);
  }

  onHoldWaiting(service: string, waiting: number): void {
    this.waitingNow.set(service, waiting);
  }

  onHoldDone(service: string, waitedMs: number, timedOut: boolean): void {
    this.push(OP_HOLD_DONE, service, '', '', timedOut ? 1 : 0, durationClass(waitedMs), waitedMs);
  }

  onEjection(service: string, pool: string, backendId: string): void {
    this.push(OP_EJECTION, service, pool, backendId, 0, 0, 0);
  }

  onMirrorAnswer(service: string, pool: string, backendId: string, status: number, durationMs: number): void {
    this.push(OP_MIRROR_ANSWER, service, pool, backendId, status, durationClass(durationMs), durationMs);
  }

  onMirrorDropped(service: string, pool: string, reason: string): void {
    this.push(OP_MIRROR_DROPPED, service, pool, '', this.str(reason), 0, 0);
  }

  /** Anything to report since the last take. */
  get pending(): boolean {
    return this.table.size > 0;
  }

  /** Requests waiting in each service's hold queue now. */
  waiting(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [svc, n] of this.waitingNow) if (n > 0) out[svc] = n;
    return out;
  }

  /** The groups since the last take, and the strings they name that were not sent yet. */
  take(): { rec: Float64Array; strings: string[]; stringsFrom: number } {
    const rec = this.table.take();
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

  private push(op: number, service: string, pool: string, backend: string, a: number, x: number, value: number): void {
    this.table.add(op, this.str(service), this.str(pool), this.str(backend), a, x, value);
  }
}
