import { describe, expect, it } from 'vitest';
import { REPORT_TICKS, ReportPace } from '../../src/process/report-pace.js';
import type { ReportFacts } from '../../src/process/report-pace.js';

const facts = (over: Partial<ReportFacts> = {}): ReportFacts => ({ inFlight: {}, waiting: {}, ejected: [], total: 0, open: 0, accepted: 0, ...over });

/** Ticks `pace` with `f` until it is due (at most `max` ticks); how many ticks that took, or 0. */
function ticksUntilDue(pace: ReportPace, f: ReportFacts, outcomes = false, events = false, max = 20): number {
  for (let i = 1; i <= max; i++) {
    if (pace.due(f, outcomes, events)) {
      pace.sent(f);
      return i;
    }
  }
  return 0;
}

describe('report pacing', () => {
  it('reports at once before anything was sent', () => {
    const pace = new ReportPace(() => false);
    expect(pace.due(facts(), false, false)).toBe(true);
  });

  it('sends outcomes and changed counts once a period, not at every tick', () => {
    const pace = new ReportPace(() => false);
    pace.sent(facts({ inFlight: { 'web/a': 3 }, total: 3, open: 5 }));
    expect(ticksUntilDue(pace, facts({ inFlight: { 'web/a': 3 }, total: 3, open: 5 }), true)).toBe(REPORT_TICKS);
    expect(ticksUntilDue(pace, facts({ inFlight: { 'web/a': 4 }, total: 4, open: 6 }))).toBe(REPORT_TICKS);
  });

  it('sends nothing while nothing changed', () => {
    const pace = new ReportPace(() => false);
    const f = facts({ inFlight: { 'web/a': 2 }, total: 2 });
    pace.sent(f);
    expect(ticksUntilDue(pace, facts({ inFlight: { 'web/a': 2 }, total: 2 }))).toBe(0);
  });

  it('reports at the next tick when a backend out of rotation falls idle (a drain or a flip waits on it)', () => {
    const pace = new ReportPace(() => false, (key) => key === 'web/b');
    pace.sent(facts({ inFlight: { 'web/a': 2, 'web/b': 1 }, total: 3 }));
    expect(pace.due(facts({ inFlight: { 'web/a': 3 }, total: 3 }), true, false)).toBe(true);
  });

  it('a backend in rotation falling idle between requests waits for the period (nobody waits on it)', () => {
    const pace = new ReportPace(() => false, (key) => key !== 'web/a', () => false);
    pace.sent(facts({ inFlight: { 'web/a': 2 }, total: 2 }));
    expect(ticksUntilDue(pace, facts({ inFlight: {}, total: 0 }), true)).toBe(REPORT_TICKS);
  });

  it('reports at the next tick when a draining backend appears, and when the whole worker falls idle while it drains', () => {
    const pace = new ReportPace(() => false);
    pace.sent(facts({ inFlight: { 'web/a': 2 }, total: 2 }));
    expect(pace.due(facts({ inFlight: { 'web/a': 2, 'web/old': 0 }, total: 2 }), false, false)).toBe(true);
    pace.sent(facts({ total: 1, inFlight: { 'web/a': 1 } }));
    expect(pace.due(facts({ total: 0, inFlight: { 'web/a': 1 } }), false, false)).toBe(true);
    let draining = false;
    const serving = new ReportPace(() => false, () => false, () => draining);
    serving.sent(facts({ total: 1 }));
    expect(serving.due(facts({ total: 0 }), true, false)).toBe(false);
    draining = true;
    expect(serving.due(facts({ total: 0 }), true, false)).toBe(true);
  });

  it('reports at the next tick on events, ejections and hold queues', () => {
    const base = facts({ inFlight: { 'web/a': 1 }, total: 1 });
    const pace = new ReportPace(() => false);
    pace.sent(base);
    expect(pace.due(base, false, true)).toBe(true);
    expect(pace.due(facts({ ...base, ejected: ['web/a'] }), false, false)).toBe(true);
    expect(pace.due(facts({ ...base, waiting: { web: 1 } }), false, false)).toBe(true);
    expect(pace.due(base, true, false)).toBe(false);
  });

  it('reports handed connections at the next tick, accepted ones on its own listener once a period', () => {
    const handed = new ReportPace(() => true);
    handed.sent(facts({ accepted: 4 }));
    expect(handed.due(facts({ accepted: 5 }), false, false)).toBe(true);
    const own = new ReportPace(() => false);
    own.sent(facts({ accepted: 4 }));
    expect(ticksUntilDue(own, facts({ accepted: 5 }))).toBe(REPORT_TICKS);
  });

  it('starts a new period after a forced report', () => {
    const pace = new ReportPace(() => false);
    pace.sent(facts());
    for (let i = 0; i < REPORT_TICKS - 1; i++) expect(pace.due(facts({ open: 1 }), true, false)).toBe(false);
    pace.sent(facts({ open: 1 }));
    expect(ticksUntilDue(pace, facts({ open: 1 }), true)).toBe(REPORT_TICKS);
  });
});
