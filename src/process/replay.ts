import type { Runtime } from '../runtime/index.js';
import type { Telemetry } from '../telemetry/index.js';
import { GROUP_SIZE } from './outcome-table.js';
import { OP_EJECTION, OP_GRPC_RESPONSE, OP_HOLD_DONE, OP_MIRROR_ANSWER, OP_MIRROR_DROPPED, OP_PROXY_ERROR, OP_H2, OP_RESPONSE, OP_UPSTREAM_FAILURE } from './protocol.js';
import type { WorkerReport } from './protocol.js';

/**
 * The supervisor's side of a worker's outcome relay: each group becomes the Telemetry call the
 * proxy makes in a single process, with the group's count and its mean (which falls in the same
 * histogram buckets as each of its outcomes), so /metrics, the live windows, the rollout gates and
 * the fleet report count every worker's requests. One per worker (each has its own string table).
 */
export class OutcomeReplay {
  private readonly strings: string[] = [];
  /** Stand-in keys for backends the supervisor no longer has (a record arrived after removal). */
  private readonly gone = new Map<string, object>();

  constructor(
    private readonly telemetry: Telemetry,
    private readonly runtime: Runtime,
  ) {}

  apply(r: WorkerReport): void {
    for (let i = 0; i < r.strings.length; i++) this.strings[r.stringsFrom + i] = r.strings[i] as string;
    const rec = r.rec;
    const s = this.strings;
    for (let i = 0; i + GROUP_SIZE <= rec.length; i += GROUP_SIZE) {
      const h2 = ((rec[i] as number) & OP_H2) !== 0;
      const op = (rec[i] as number) & ~OP_H2;
      const service = s[rec[i + 1] as number] ?? '';
      const pool = s[rec[i + 2] as number] ?? '';
      const backend = s[rec[i + 3] as number] ?? '';
      const a = rec[i + 4] as number;
      const x = rec[i + 5] as number;
      const n = rec[i + 6] as number;
      const mean = (rec[i + 7] as number) / n;
      switch (op) {
        case OP_RESPONSE:
          this.telemetry.onResponse(service, pool, this.keyOf(service, pool, backend), backend, a, mean, h2, n);
          break;
        case OP_GRPC_RESPONSE:
          this.telemetry.onGrpcResponse(service, pool, this.keyOf(service, pool, backend), backend, Math.floor(a / 10) % 1000, Math.floor(a / 10000), a % 10 === 1, mean, h2, n);
          break;
        case OP_PROXY_ERROR:
          this.telemetry.onProxyError(service, pool, a, mean, n);
          break;
        case OP_UPSTREAM_FAILURE:
          this.telemetry.onUpstreamFailure(service, pool, backend, s[a] ?? 'error', x === 1, n);
          break;
        case OP_HOLD_DONE:
          this.telemetry.onHoldDone(service, mean, a === 1, n);
          break;
        case OP_EJECTION:
          this.telemetry.onEjection(service, pool, backend, n);
          break;
        case OP_MIRROR_ANSWER:
          this.telemetry.onMirrorAnswer(service, pool, backend, a, mean, n);
          break;
        case OP_MIRROR_DROPPED:
          this.telemetry.onMirrorDropped(service, pool, s[a] ?? 'error', n);
          break;
        default:
          break;
      }
    }
  }

  /** The supervisor's key object of a backend: its upstream, as in a single process. */
  private keyOf(service: string, pool: string, id: string): object {
    const e = this.runtime.backends.get(service, id);
    if (e !== undefined && e.pool === pool) return e.upstream;
    const name = `${service}\u0000${pool}\u0000${id}`;
    let key = this.gone.get(name);
    if (key === undefined) {
      key = {};
      this.gone.set(name, key);
    }
    return key;
  }

  /** Stand-in keys' counts join the departed ones (the pool calls this now and then). */
  sweep(): void {
    for (const key of this.gone.values()) this.telemetry.forget(key);
    this.gone.clear();
  }
}
