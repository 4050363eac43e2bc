import type { ServiceConfig } from '../config/index.js';
import type { HoldWaiter } from './context.js';
import { HoldQueue } from './hold.js';
import type { HoldStats } from './hold.js';
import type { ProxyObserver } from './observer.js';

/** A service's hold: its queue, the retry timer while it is not empty, and counts for events. */
interface ServiceHold {
  readonly queue: HoldQueue<HoldWaiter>;
  timer: NodeJS.Timeout | undefined;
  /** Pending end of the holding period (the queue emptied a moment ago). */
  ending: NodeJS.Timeout | undefined;
  kickScheduled: boolean;
  stats: HoldStats;
}

/** How long a hold queue must stay empty before the service's holding period ends (its event). */
const HOLD_END_GRACE_MS = 1000;

/**
 * The hold queues of all services (SPEC "Hold and limits"): who waits where, the retry timers,
 * the kicks that send waiting requests on, and the hold_start/hold_end events. The ProxyServer
 * owns one and forwards the EngineContext hold calls to it.
 */
export class HoldRegistry {
  private readonly observer: ProxyObserver;
  /** Hold queues by service name; absent until a request of that service first waits. */
  private readonly holds = new Map<string, ServiceHold>();

  constructor(observer: ProxyObserver) {
    this.observer = observer;
  }

  /** EngineContext.holdEnter. */
  enter(waiter: HoldWaiter, service: string, settings: ServiceConfig, front: boolean): boolean {
    let h = this.holds.get(service);
    if (h === undefined) {
      h = { queue: new HoldQueue(), timer: undefined, ending: undefined, kickScheduled: false, stats: { since: 0, served: 0, timedOut: 0, longestMs: 0 } };
      this.holds.set(service, h);
    }
    if (!front && h.queue.size >= settings.hold.maxWaiting) return false;
    if (front) h.queue.unshift(waiter);
    else h.queue.push(waiter);
    if (h.ending !== undefined) {
      // Waiting again right after the queue emptied: the same holding period goes on.
      clearTimeout(h.ending);
      h.ending = undefined;
    } else if (h.timer === undefined) {
      h.stats = { since: performance.now(), served: 0, timedOut: 0, longestMs: 0 };
      h.timer = setInterval(() => this.kick(service), settings.hold.retryIntervalMs);
      h.timer.unref();
      this.observer.onHoldState(service, true, h.stats);
    }
    this.observer.onHoldWaiting(service, h.queue.size);
    return true;
  }

  /** EngineContext.holdLeave. */
  leave(waiter: HoldWaiter, service: string, waitedMs: number, outcome: 'served' | 'timed_out' | 'left'): void {
    const h = this.holds.get(service);
    if (h === undefined || !h.queue.remove(waiter)) return;
    if (outcome === 'served') h.stats.served++;
    else if (outcome === 'timed_out') h.stats.timedOut++;
    if (waitedMs > h.stats.longestMs) h.stats.longestMs = waitedMs;
    if (outcome !== 'left') this.observer.onHoldDone(service, waitedMs, outcome === 'timed_out');
    this.observer.onHoldWaiting(service, h.queue.size);
    if (h.queue.size === 0 && h.ending === undefined) {
      // A request sent from the queue may fail and wait again at once: the holding period ends
      // only when nothing waited for a moment (one event pair per gap, not per request).
      h.ending = setTimeout(() => this.endHold(service), HOLD_END_GRACE_MS);
      h.ending.unref();
    }
  }

  private endHold(service: string): void {
    const h = this.holds.get(service);
    if (h === undefined) return;
    h.ending = undefined;
    if (h.queue.size > 0) return;
    clearInterval(h.timer);
    h.timer = undefined;
    this.observer.onHoldState(service, false, h.stats);
  }

  /** EngineContext.roomFreed. */
  roomFreed(service: string): void {
    const h = this.holds.get(service);
    if (h === undefined || h.queue.size === 0 || h.kickScheduled) return;
    h.kickScheduled = true;
    setImmediate(() => this.kick(service));
  }

  /** The routing table changed: every waiting request gets a try. */
  tableChanged(): void {
    for (const [service, h] of this.holds) if (h.queue.size > 0) this.kick(service);
  }

  /** Waiting requests of `service` try again, oldest first, until one still finds no backend. */
  private kick(service: string): void {
    const h = this.holds.get(service);
    if (h === undefined) return;
    h.kickScheduled = false;
    // Each waiting request is tried at most once per kick (a failed one may come back to the front).
    for (let n = h.queue.size; n > 0; n--) {
      const w = h.queue.peek();
      if (w === undefined || !w.retryHold()) break;
    }
  }

  /** Requests waiting for a backend now in `service`. */
  waiting(service: string): number {
    return this.holds.get(service)?.queue.size ?? 0;
  }

  /** Shutdown: every waiting request is answered now. */
  giveUpAll(): void {
    for (const h of this.holds.values()) {
      for (let n = h.queue.size; n > 0; n--) h.queue.peek()?.giveUp();
    }
  }

  /** Stops the retry and end-of-hold timers. */
  stop(): void {
    for (const h of this.holds.values()) {
      clearInterval(h.timer);
      clearTimeout(h.ending);
    }
  }
}
