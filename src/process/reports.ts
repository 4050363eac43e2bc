import type { Runtime } from '../runtime/index.js';
import type { Telemetry } from '../telemetry/index.js';
import type { WorkerChild } from './child.js';
import type { WorkerReport } from './protocol.js';

/**
 * The workers' reports folded into the supervisor: outcomes into its telemetry, events into its
 * runtime, and the counts summed (in flight by backend, ejected backends, hold queues), which is
 * what the supervisor's views, drains and waits read (RemoteFacts).
 */
export class ReportFold {
  private readonly waitingSent = new Map<string, number>();
  private countsShape = '';
  /** The workers' reports summed: in flight by service and backend id, and ejected `service/id`s. */
  private merged: { readonly inFlight: Map<string, Map<string, number>>; readonly ejected: ReadonlySet<string> } = { inFlight: new Map(), ejected: new Set() };

  constructor(
    private readonly workers: () => Iterable<WorkerChild>,
    private readonly runtime: Runtime,
    private readonly telemetry: Telemetry,
  ) {}

  onReport(w: WorkerChild, r: WorkerReport): void {
    const { rec: _rec, strings: _s, events, ...facts } = r;
    w.report = facts;
    w.received(r.accepted);
    w.replay.apply(r);
    for (const [service, ev] of events) this.runtime.event(service, ev);
    this.countsChanged();
  }

  inFlight(service: string, id: string): number {
    // Not heard from since the last state: such a worker may have started requests on it.
    const revision = this.runtime.revision;
    let stale = 0;
    for (const w of this.workers()) if (w.state !== 'starting' && (w.report === undefined || w.report.revision < revision)) stale++;
    return stale + (this.merged.inFlight.get(service)?.get(id) ?? 0);
  }

  ejected(service: string, id: string): boolean {
    return this.merged.ejected.size > 0 && this.merged.ejected.has(`${service}/${id}`);
  }

  /** Workers' counts changed: hold gauges, drains and waits look again. */
  countsChanged(): void {
    const workers = [...this.workers()];
    const waiting = new Map<string, number>();
    for (const w of workers) for (const [svc, n] of Object.entries(w.report?.waiting ?? {})) waiting.set(svc, (waiting.get(svc) ?? 0) + n);
    for (const svc of new Set([...waiting.keys(), ...this.waitingSent.keys()])) {
      const n = waiting.get(svc) ?? 0;
      if ((this.waitingSent.get(svc) ?? 0) === n) continue;
      this.telemetry.onHoldWaiting(svc, n);
      if (n === 0) this.waitingSent.delete(svc);
      else this.waitingSent.set(svc, n);
    }
    const shape = JSON.stringify(workers.map((w) => [w.state, w.report?.revision, w.report?.inFlight, w.report?.ejected]));
    if (shape === this.countsShape) return;
    this.countsShape = shape;
    // Summed once per change, so the views' per-backend questions are map lookups.
    const inFlight = new Map<string, Map<string, number>>();
    const ejected = new Set<string>();
    for (const w of workers) {
      for (const [key, n] of Object.entries(w.report?.inFlight ?? {})) {
        const slash = key.indexOf('/');
        const service = key.slice(0, slash);
        let ids = inFlight.get(service);
        if (ids === undefined) inFlight.set(service, (ids = new Map()));
        ids.set(key.slice(slash + 1), (ids.get(key.slice(slash + 1)) ?? 0) + n);
      }
      for (const key of w.report?.ejected ?? []) ejected.add(key);
    }
    this.merged = { inFlight, ejected };
    this.runtime.remoteChanged();
  }
}
