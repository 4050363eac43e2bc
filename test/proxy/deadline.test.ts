import { describe, expect, test } from 'vitest';
import { Deadline, deadlineAt } from '../../src/proxy/client-side.js';
import { stalledDeadline, sweepLag } from '../../src/proxy/deadline.js';

const TICK = 50;

describe('sweepLag: how late a sweep runs after the one before (the loop was busy)', () => {
  test.each([
    // prev, now, lag
    [1000, 1050, 0], // on time
    [1000, 1057, 0], // timer jitter
    [1000, 1100, 0], // one interval late: still taken as on time
    [1000, 1101, 51],
    [1000, 3330, 2280], // a 2.3 s burst
  ])('prev %d, now %d: %d', (prev, now, lag) => {
    expect(sweepLag(prev, now, TICK)).toBe(lag);
  });
});

describe('stalledDeadline: a deadline set during a stall moves on by the lag', () => {
  test.each([
    // deadline, kind, callDeadline, lag, moved
    [2000, Deadline.CONNECT, 0, 2280, 4280],
    [6000, Deadline.RESPONSE, 0, 500, 6500],
    [1500, Deadline.HOLD, 0, 500, 2000],
    // A gRPC call's own deadline (measured, not counted from the clock) still bounds its hold...
    [1500, Deadline.HOLD, 1800, 500, 1800],
    [1500, Deadline.HOLD, 2500, 500, 2000],
    // ...and nothing else: its stream to the backend keeps that deadline itself.
    [1500, Deadline.RESPONSE, 1800, 500, 2000],
  ])('%d (kind %d, call deadline %d) + lag %d: %d', (deadline, kind, callDeadline, lag, moved) => {
    expect(stalledDeadline(deadline, kind, callDeadline, lag)).toBe(moved);
  });
});

describe('deadlineAt: a deadline ms after the clock', () => {
  test.each([
    // kind, ms, clock, callDeadline, deadline
    [Deadline.NONE, 1000, 500, 0, 0],
    [Deadline.CONNECT, 0, 500, 0, 0],
    [Deadline.CONNECT, 1000, 500, 0, 1500],
    [Deadline.RESPONSE, 1000, 500, 900, 1500],
    [Deadline.HOLD, 1000, 500, 900, 900],
    [Deadline.HOLD, 1000, 500, 2000, 1500],
    // A gRPC call that holds without a hold timeout waits until its own deadline.
    [Deadline.HOLD, 0, 500, 900, 900],
  ])('kind %d, %d ms after %d (call deadline %d): %d', (kind, ms, clock, callDeadline, deadline) => {
    expect(deadlineAt(kind, ms, clock, callDeadline)).toBe(deadline);
  });
});
