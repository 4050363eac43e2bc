import { GrpcProbe } from './grpc-probe.js';
import { HttpProbe } from './http-probe.js';
import type { CheckTarget, ProbeResult } from './probe.js';

export type { CheckTarget, ProbeResult } from './probe.js';

interface Scheduled {
  target: CheckTarget;
  /** Epoch ms (from `now`) the next probe is due. */
  nextAt: number;
  running: boolean;
  stopped: boolean;
}

/** Scheduler resolution: due probes are launched together each tick (fewer wake-ups than a timer each). */
const TICK_MS = 50;

/**
 * Active health checks. Each backend's first probe falls at a random point of its interval and each
 * next one is jittered by ±10 %, so many backends never probe in lock-step; one scheduler tick every
 * 50 ms launches whatever is due (200 backends at 1 s cost 20 wake-ups a second, not 200). A probe
 * still running when the next is due is not doubled (a hanging backend never piles probes up).
 */
export class HealthChecker {
  private readonly entries = new Map<string, Scheduled>();
  private readonly http = new HttpProbe();
  private readonly grpc = new GrpcProbe();
  private readonly onResult: (key: string, result: ProbeResult) => void;
  private readonly random: () => number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(onResult: (key: string, result: ProbeResult) => void, random: () => number = Math.random, now: () => number = Date.now) {
    this.onResult = onResult;
    this.random = random;
    this.now = now;
  }

  /** Starts checks for new targets, stops the ones not listed, restarts changed ones. */
  sync(targets: readonly CheckTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.key, t]));
    for (const [key, e] of this.entries) {
      const t = wanted.get(key);
      if (t === undefined || t.url !== e.target.url || t.settings !== e.target.settings) this.stopOne(key);
    }
    const now = this.now();
    for (const t of targets) {
      if (this.entries.has(t.key)) continue;
      this.entries.set(t.key, { target: t, nextAt: now + this.random() * t.settings.intervalMs, running: false, stopped: false });
    }
    // A gRPC channel lives as long as its backend is checked: one per backend, closed when it goes.
    this.grpc.retain(new Set(targets.filter((t) => t.settings.grpc !== undefined).map((t) => t.key)));
    if (this.entries.size > 0 && this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    } else if (this.entries.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private stopOne(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    e.stopped = true;
    this.entries.delete(key);
  }

  /** Launches every probe that is due; each is rescheduled at once, jittered. */
  private tick(): void {
    const now = this.now();
    for (const e of this.entries.values()) {
      if (e.nextAt > now) continue;
      const interval = e.target.settings.intervalMs;
      e.nextAt = now + interval * (0.9 + 0.2 * this.random());
      if (e.running) continue;
      e.running = true;
      this.probe(e.target).then(
        (result) => {
          e.running = false;
          if (!e.stopped) this.onResult(e.target.key, result);
        },
        () => {
          e.running = false;
        },
      );
    }
  }

  /** One probe of the target's kind, now (also used to warm backends before they serve). */
  probe(target: CheckTarget): Promise<ProbeResult> {
    return (target.settings.grpc === undefined ? this.http : this.grpc).probe(target);
  }

  async close(): Promise<void> {
    for (const key of [...this.entries.keys()]) this.stopOne(key);
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([this.http.close(), this.grpc.close()]);
  }
}
