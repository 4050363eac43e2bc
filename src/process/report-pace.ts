/**
 * When a worker reports to its supervisor. A report costs the supervisor a wake-up (about 0.2 ms
 * of CPU, most of it the IPC read, deserialization and cold caches, not the folding), so reports
 * are paced: every REPORT_TICKS ticks (250 ms) while anything changed, and at the next tick (50 ms)
 * only for what someone waits on:
 * - the in flight of a backend out of rotation fell to 0 (a drain ends, a flip with
 *   `wait=drained` returns: what they wait on is a backend no new request goes to), or, while the
 *   worker drains, its whole in flight did. A backend in rotation falls to 0 between requests all
 *   the time (with short connections several times a second), and nobody waits on that;
 * - events (ejections, retries exhausted, hold), the ejected set and hold queues changed;
 * - a connection handed to it arrived (handoff: the supervisor keeps a copy until told).
 * Outcomes alone (requests counted) wait for the period: `/metrics` and `/v1/fleet` ask every
 * worker for a report first (a tally), so what they show is never older than the call.
 * Pure: the caller ticks it and says what it sent.
 */

/** A tick (ms): how soon something waited on is reported. */
export const TICK_MS = 50;
/** Ticks between two reports of counts and outcomes alone (250 ms). */
export const REPORT_TICKS = 5;

/** The counts a report carries. */
export interface ReportFacts {
  /** In flight on backends that have any, or are draining (`service/id`). */
  readonly inFlight: Readonly<Record<string, number>>;
  readonly waiting: Readonly<Record<string, number>>;
  readonly ejected: readonly string[];
  readonly total: number;
  readonly open: number;
  readonly accepted: number;
}

export class ReportPace {
  private last: ReportFacts | undefined;
  private ticks = 0;

  /**
   * `handedOff`: connections are handed to this worker (no listener of its own). `watched`: a
   * backend (`service/id`) someone may wait on to fall idle: out of rotation (draining, its pool
   * without a share, removed). `draining`: the worker itself drains.
   */
  constructor(
    private readonly handedOff: () => boolean,
    private readonly watched: (key: string) => boolean = () => true,
    private readonly draining: () => boolean = () => true,
  ) {}

  /** A tick: whether to report now. `outcomes`/`events`: some wait to be sent. */
  due(f: ReportFacts, outcomes: boolean, events: boolean): boolean {
    this.ticks++;
    const last = this.last;
    if (last === undefined || events || this.urgent(last, f)) return true;
    if (this.ticks < REPORT_TICKS) return false;
    return outcomes || !sameCounts(last, f);
  }

  /** A report with `f` went out (a due one, or one forced by an ack or a tally). */
  sent(f: ReportFacts): void {
    this.last = f;
    this.ticks = 0;
  }

  private urgent(last: ReportFacts, f: ReportFacts): boolean {
    if (last.total > 0 && f.total === 0 && this.draining()) return true;
    if (this.handedOff() && f.accepted !== last.accepted) return true;
    if (!sameList(last.ejected, f.ejected) || !sameRecord(last.waiting, f.waiting)) return true;
    for (const key in last.inFlight) if ((last.inFlight[key] as number) > 0 && (f.inFlight[key] ?? 0) === 0 && this.watched(key)) return true;
    // A backend that started draining is reported (at 0 or not), so the supervisor sees it.
    for (const key in f.inFlight) if (!(key in last.inFlight) && f.inFlight[key] === 0) return true;
    return false;
  }
}

function sameCounts(a: ReportFacts, b: ReportFacts): boolean {
  return a.total === b.total && a.open === b.open && a.accepted === b.accepted && sameRecord(a.inFlight, b.inFlight);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameRecord(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  let n = 0;
  for (const key in a) {
    if (a[key] !== b[key]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}
