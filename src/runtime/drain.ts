import type { Upstream } from '../proxy/index.js';
import type { BackendEntry } from './backends.js';
import { MAX_TIMER_MS } from './context.js';
import type { RemoveBackend, RuntimeContext } from './context.js';

/**
 * Drains: a backend in `draining` gets no new requests (the table leaves it out), its idle sockets
 * close at once, and when its in-flight count reaches 0 or its deadline passes it is removed
 * through the control plane. Upstreams retired outside the store (a service a reload removed, an
 * upstream replaced because its options changed) get the same treatment locally.
 */
export class Drains {
  removeBackend: RemoveBackend | undefined;
  private readonly retired = new Map<Upstream, NodeJS.Timeout>();

  constructor(private readonly ctx: RuntimeContext) {}

  /** Acts on the entry's record: starts, re-arms or cancels its drain. */
  track(entry: BackendEntry): void {
    const rec = entry.record;
    if (rec.state !== 'draining') {
      if (entry.drainSeen !== undefined) {
        entry.drainSeen = undefined;
        if (entry.drainTimer !== undefined) clearTimeout(entry.drainTimer);
        entry.drainTimer = undefined;
        this.ctx.event(entry.service, { type: 'drain_cancelled', pool: entry.pool, backend: rec.id, message: `backend is ${rec.state} again` });
      }
      return;
    }
    const deadlineMs = rec.drain?.deadlineMs ?? this.ctx.now() + entry.settings.drainTimeoutMs;
    const mark = `${rec.drain?.startedAt ?? ''}|${deadlineMs}|${rec.drain?.remove ?? false}`;
    if (entry.drainSeen === mark) return;
    const first = entry.drainSeen === undefined;
    entry.drainSeen = mark;
    if (first) {
      entry.upstream.closeIdleConnections();
      this.ctx.event(entry.service, {
        type: 'drain_start',
        pool: entry.pool,
        backend: rec.id,
        message: `draining with ${this.ctx.inFlightOf(entry)} in flight; deadline ${new Date(deadlineMs).toISOString()}`,
        details: { inFlight: this.ctx.inFlightOf(entry), deadline: new Date(deadlineMs).toISOString(), remove: rec.drain?.remove ?? false },
      });
    }
    if (entry.drainTimer !== undefined) clearTimeout(entry.drainTimer);
    entry.drainTimer = setTimeout(() => this.onDeadline(entry), Math.min(MAX_TIMER_MS, Math.max(0, deadlineMs - this.ctx.now())));
    entry.drainTimer.unref();
    if (this.ctx.inFlightOf(entry) === 0) setImmediate(() => this.onIdle(entry));
  }

  /** The entry's upstream has nothing in flight any more. */
  onIdle(entry: BackendEntry): void {
    this.ctx.signal('idle', entry.service, entry.record.id);
    const rec = entry.record;
    if (rec.state === 'draining' && rec.drain?.remove === true && this.ctx.inFlightOf(entry) === 0) this.requestRemoval(entry, false);
  }

  private onDeadline(entry: BackendEntry): void {
    entry.drainTimer = undefined;
    if (!this.ctx.backends.isCurrent(entry) || entry.record.state !== 'draining') return;
    const deadlineMs = entry.record.drain?.deadlineMs;
    if (deadlineMs !== undefined && deadlineMs - this.ctx.now() > 50) {
      entry.drainTimer = setTimeout(() => this.onDeadline(entry), Math.min(MAX_TIMER_MS, deadlineMs - this.ctx.now()));
      entry.drainTimer.unref();
      return;
    }
    const closed = entry.upstream.closeUpgrades();
    const inFlight = this.ctx.inFlightOf(entry);
    if (closed > 0 || inFlight > 0) {
      this.ctx.event(entry.service, {
        type: 'drain_deadline',
        pool: entry.pool,
        backend: entry.record.id,
        message: `drain deadline: closed ${closed} upgraded connection(s), ${Math.max(0, inFlight - closed)} request(s) still in flight`,
      });
    }
    if (entry.record.drain?.remove === true) this.requestRemoval(entry, true);
  }

  private requestRemoval(entry: BackendEntry, atDeadline: boolean): void {
    if (entry.removing || this.removeBackend === undefined) return;
    entry.removing = true;
    this.removeBackend(entry.service, entry.pool, entry.record.id, atDeadline).then(
      (done) => {
        entry.removing = false;
        if (!done) {
          // Others in the fleet still serve requests on it: look again shortly (the deadline still applies).
          const t = setTimeout(() => {
            if (this.ctx.backends.isCurrent(entry) && entry.record.state === 'draining' && this.ctx.inFlightOf(entry) === 0) this.requestRemoval(entry, false);
          }, 250);
          t.unref();
        }
      },
      (err: unknown) => {
        entry.removing = false;
        this.ctx.log.warn({ service: entry.service, backend: entry.record.id, err: (err as Error).message }, 'removing a drained backend failed; retrying');
        const t = setTimeout(() => {
          if (this.ctx.backends.isCurrent(entry)) this.requestRemoval(entry, atDeadline);
        }, 500);
        t.unref();
      },
    );
  }

  /**
   * Lets an upstream no longer in the table finish what it serves: idle sockets close now, it is
   * destroyed when nothing is in flight or at `deadlineMs` (upgraded connections closed first).
   * With `event`, drain_start and drain_end are written for the operator (a removed service).
   */
  retire(up: Upstream, deadlineMs: number, event?: { readonly service: string; readonly pool: string }): void {
    up.closeIdleConnections();
    if (event !== undefined) {
      this.ctx.event(event.service, {
        type: 'drain_start',
        pool: event.pool,
        backend: up.id,
        message: `service removed from the config: draining with ${up.inFlight} in flight; deadline ${new Date(deadlineMs).toISOString()}`,
        details: { inFlight: up.inFlight, deadline: new Date(deadlineMs).toISOString(), remove: true },
      });
    }
    const finish = (): void => {
      const timer = this.retired.get(up);
      if (timer === undefined) return;
      clearTimeout(timer);
      this.retired.delete(up);
      const inFlight = up.inFlight;
      up.onIdle = undefined;
      up.closeUpgrades();
      this.ctx.telemetry?.forget(up);
      void up.destroy();
      if (event !== undefined) {
        this.ended(event.service, event.pool, up, inFlight);
        this.ctx.signal('removed', event.service, up.id);
      }
    };
    const timer = setTimeout(finish, Math.min(MAX_TIMER_MS, Math.max(0, deadlineMs - this.ctx.now())));
    timer.unref();
    this.retired.set(up, timer);
    up.onIdle = finish;
    if (up.inFlight === 0) setImmediate(finish);
  }

  /** The drain_end event of a backend leaving with `inFlight` requests still on it. */
  ended(service: string, pool: string, up: Upstream, inFlight: number): void {
    this.ctx.event(service, {
      type: 'drain_end',
      pool,
      backend: up.id,
      message: inFlight === 0 ? 'drained: no request in flight; backend removed' : `drain deadline passed with ${inFlight} in flight; backend removed`,
      details: { inFlight, started: up.started },
    });
  }

  /** Upstreams retired and not yet destroyed (their requests still count as in flight here). */
  retiredInFlight(): number {
    let n = 0;
    for (const up of this.retired.keys()) n += up.inFlight;
    return n;
  }

  async close(): Promise<void> {
    for (const [up, timer] of this.retired) {
      clearTimeout(timer);
      up.onIdle = undefined;
      await up.destroy();
    }
    this.retired.clear();
  }
}
