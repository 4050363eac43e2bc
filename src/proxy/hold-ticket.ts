import type { ProxyErrorCode } from '../errors.js';
import type { EngineContext, HoldWaiter } from './context.js';
import type { ServiceTable } from './table.js';

/**
 * One request's place in a hold queue (SPEC "Hold and limits"): whether it waits, in which
 * service's queue, since when and until when, and what it gets if its time runs out. Kept in the
 * request's slot (an idle connection holds none) and reused for every request.
 */
export class HoldTicket {
  waiting = false;
  /** The service whose queue it waits in. */
  service = '';
  /** When it first waited (ms, performance.now()); 0 = this request never waited. */
  since = 0;
  /** When its time runs out (ms, ctx.clock). */
  deadline = 0;
  /** What it gets when its time runs out: no_backend, or the last error its tries met. */
  code: ProxyErrorCode = 'no_backend';

  /** A new request: it never waited. */
  reset(): void {
    this.since = 0;
  }

  /**
   * Enters `svc`'s queue (back at the front when it waited before) while hold.timeout allows, or
   * the response timeout when every backend was `full` and hold is off. False when it cannot wait:
   * hold off, its time spent, or the queue full.
   */
  enter(ctx: EngineContext, waiter: HoldWaiter, svc: ServiceTable, code: ProxyErrorCode, full: boolean): boolean {
    const s = svc.settings;
    const timeoutMs = s.hold.timeoutMs > 0 ? s.hold.timeoutMs : full ? s.responseTimeoutMs : 0;
    if (timeoutMs <= 0) return false;
    const again = this.since !== 0;
    if (!again) {
      this.since = performance.now();
      this.deadline = ctx.clock + timeoutMs;
    } else if (ctx.clock >= this.deadline) {
      return false;
    }
    if (!ctx.holdEnter(waiter, svc.name, s, again)) return false;
    this.waiting = true;
    this.service = svc.name;
    this.code = code;
    return true;
  }

  /** Leaves the queue: it went to a backend, timed out, or its client left. */
  leave(ctx: EngineContext, waiter: HoldWaiter, outcome: 'served' | 'timed_out' | 'left'): void {
    this.waiting = false;
    ctx.holdLeave(waiter, this.service, performance.now() - this.since, outcome);
  }
}
