import type { Config } from '../config/index.js';
import type { ServiceRecord, StateSnapshot } from '../model/index.js';
import type { HealthFacts, ServiceEvent } from '../runtime/index.js';

/**
 * The messages between the supervisor and its workers (child_process IPC, `advanced`
 * serialization, so outcome batches travel as typed arrays). A client connection travels as the
 * handle of a `conn` message, a listening socket (reuseport) as that of `init` or `listen`.
 */
export type ToWorker =
  /** The first message: what to serve. */
  | {
      readonly t: 'init';
      readonly generation: number;
      readonly config: Config;
      readonly state: StateSnapshot;
      readonly health: HealthFacts;
      /** It may serve on as an orphan if the supervisor dies (a `turnout serve` with a runtime file, which the next one reads). */
      readonly orphans?: boolean;
    }
  /**
   * A new state, as the services that changed since the last one (the others keep their objects,
   * so the worker rebuilds only what changed). Service records travel without their history.
   */
  | { readonly t: 'state'; readonly revision: number; readonly changed: Readonly<Record<string, ServiceRecord>>; readonly removed: readonly string[] }
  | { readonly t: 'health'; readonly health: HealthFacts }
  /** A reload: serve `config` with `state`; the report that follows carries `ack: seq`. */
  | { readonly t: 'config'; readonly seq: number; readonly config: Config; readonly state: StateSnapshot }
  /** New connections get the certificate and key in these files (a reload changed them). */
  | { readonly t: 'tls'; readonly certFile: string; readonly keyFile: string }
  /** With a listening socket as the handle (reuseport): accept on it from now on, not on the last one. */
  | { readonly t: 'listen'; readonly seq: number }
  /** With a client socket as the handle; `seq` counts the connections handed to this worker. */
  | { readonly t: 'conn'; readonly seq: number }
  /** Stop taking connections, finish what is in flight (up to `timeoutMs`), exit. */
  | { readonly t: 'drain'; readonly timeoutMs: number }
  /** Report now (a `GET /v1/fleet`): the report that follows carries `tally: seq`. */
  | { readonly t: 'tally'; readonly seq: number };

export type ToSupervisor =
  /** The table is built: the worker may get connections. */
  | { readonly t: 'ready'; readonly revision: number }
  | WorkerReport
  /** It listens on the socket of the `listen` message `seq`. */
  | { readonly t: 'listening'; readonly seq: number }
  /** The last message of a draining worker, before it exits. */
  | { readonly t: 'drained'; readonly cutRequests: number; readonly closedUpgrades: number };

/**
 * Outcome group operations in `WorkerReport.rec` (GROUP_SIZE numbers each: op, service, pool,
 * backend, a, x, count, sum; x is the duration class where the sum is of durations in ms).
 */
export const OP_RESPONSE = 0; // a: status; x: duration class, sum: duration ms
export const OP_PROXY_ERROR = 1; // a: status; x: duration class, sum: duration ms
export const OP_UPSTREAM_FAILURE = 2; // backend; a: reason (a string index), x: retried 0/1
export const OP_HOLD_DONE = 3; // a: timed out 0/1; x: duration class, sum: waited ms
export const OP_EJECTION = 4;
export const OP_MIRROR_ANSWER = 5; // a mirrored copy: pool, backend; a: status; x: duration class, sum: duration ms
export const OP_MIRROR_DROPPED = 6; // a copy not sent: pool; a: reason (a string index)
export const OP_GRPC_RESPONSE = 7; // a: grpc-status * 10000 + status * 10 + failed 0/1; x: duration class, sum: duration ms
/** Added to OP_RESPONSE and OP_GRPC_RESPONSE when the client asked over HTTP/2. */
export const OP_H2 = 16;

/**
 * What a worker tells the supervisor: sent at once after it applied a state or config (so the
 * supervisor knows every worker serves it before answering the write) or asked for (a tally),
 * then paced (report-pace.ts): every 250 ms while anything changed, within 50 ms when something
 * waited on changed (a backend's in flight fell to 0, ejections, hold queues, events).
 */
export interface WorkerReport {
  readonly t: 'report';
  /** Revision of the state it has applied. */
  readonly revision: number;
  /** The `config` message this report answers. */
  readonly ack?: number;
  /** The `tally` message this report answers. */
  readonly tally?: number;
  /** In flight on backends that have any, or are draining (`service/id`). */
  readonly inFlight: Readonly<Record<string, number>>;
  /** Requests and upgrades in flight in the whole worker. */
  readonly total: number;
  /** Requests waiting for a backend, by service (hold). */
  readonly waiting: Readonly<Record<string, number>>;
  /** Backends its outlier detection ejected now (`service/id`). */
  readonly ejected: readonly string[];
  /** Client connections open in it now. */
  readonly open: number;
  /**
   * Connections it received: handed over, the `seq` of the last one (the supervisor closes its
   * copies up to it); accepted on its own listener (reuseport), how many.
   */
  readonly accepted: number;
  /** New strings of the records' table, from index `stringsFrom` on. */
  readonly strings: readonly string[];
  readonly stringsFrom: number;
  /** Outcomes since the last report, grouped (GROUP_SIZE numbers a group, outcome-table.ts). */
  readonly rec: Float64Array;
  /** Events its runtime wrote that only it can know (ejections, retries exhausted, hold). */
  readonly events: readonly (readonly [string, Omit<ServiceEvent, 'time'>])[];
}

/** A service record as the workers need it: no history (only the supervisor's admin API reads it). */
export function forWorkers(svc: ServiceRecord): ServiceRecord {
  return svc.history.length === 0 && svc.splitHistory.length === 0 ? svc : { ...svc, history: [], splitHistory: [] };
}

/** A whole state as the workers need it. */
export function stateForWorkers(state: StateSnapshot): StateSnapshot {
  const services: Record<string, ServiceRecord> = {};
  for (const [name, svc] of Object.entries(state.services)) services[name] = forWorkers(svc);
  return { revision: state.revision, services };
}
