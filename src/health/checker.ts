import { Agent, request } from 'undici';
import type { HealthCheckSettings } from '../config/index.js';

export interface CheckTarget {
  /** Unique per backend (service + id). */
  readonly key: string;
  readonly url: string;
  readonly settings: HealthCheckSettings;
  readonly rejectUnauthorized: boolean;
}

export interface ProbeResult {
  readonly passed: boolean;
  /** What the probe saw: "status 503", "ECONNREFUSED", "timeout after 2000ms". */
  readonly detail: string;
}

const MAX_PROBE_BODY = 64 * 1024;

interface Scheduled {
  target: CheckTarget;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  stopped: boolean;
}

/**
 * Active health checks: one timer per backend, first run at a random offset within the interval and
 * each next run jittered by up to 10 %, so many backends never probe in lock-step. A probe still
 * running when the next is due is not doubled (a hanging backend never piles probes up).
 */
export class HealthChecker {
  private readonly entries = new Map<string, Scheduled>();
  private readonly agents = new Map<boolean, Agent>();
  private readonly onResult: (key: string, result: ProbeResult) => void;
  private readonly random: () => number;

  constructor(onResult: (key: string, result: ProbeResult) => void, random: () => number = Math.random) {
    this.onResult = onResult;
    this.random = random;
  }

  /** Starts checks for new targets, stops the ones not listed, restarts changed ones. */
  sync(targets: readonly CheckTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.key, t]));
    for (const [key, e] of this.entries) {
      const t = wanted.get(key);
      if (t === undefined || t.url !== e.target.url || t.settings !== e.target.settings) this.stopOne(key);
    }
    for (const t of targets) {
      if (this.entries.has(t.key)) continue;
      const e: Scheduled = { target: t, timer: undefined, running: false, stopped: false };
      this.entries.set(t.key, e);
      this.schedule(e, this.random() * t.settings.intervalMs);
    }
  }

  private stopOne(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    e.stopped = true;
    if (e.timer !== undefined) clearTimeout(e.timer);
    this.entries.delete(key);
  }

  private schedule(e: Scheduled, delayMs: number): void {
    e.timer = setTimeout(() => this.run(e), delayMs);
    e.timer.unref();
  }

  private nextDelay(intervalMs: number): number {
    return intervalMs * (0.9 + 0.2 * this.random());
  }

  private run(e: Scheduled): void {
    if (e.stopped) return;
    this.schedule(e, this.nextDelay(e.target.settings.intervalMs));
    if (e.running) return;
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

  private agent(rejectUnauthorized: boolean): Agent {
    let a = this.agents.get(rejectUnauthorized);
    if (a === undefined) {
      a = new Agent({ keepAliveTimeout: 4000, keepAliveMaxTimeout: 4000, connect: { rejectUnauthorized } });
      this.agents.set(rejectUnauthorized, a);
    }
    return a;
  }

  /** One probe: GET path, status in the expected range within the timeout; the body is capped and drained. */
  async probe(target: CheckTarget): Promise<ProbeResult> {
    const s = target.settings;
    const signal = AbortSignal.timeout(s.timeoutMs);
    try {
      const res = await request(`${target.url}${s.path}`, {
        method: 'GET',
        dispatcher: this.agent(target.rejectUnauthorized),
        headers: { 'user-agent': 'turnout-health-check', accept: '*/*' },
        headersTimeout: s.timeoutMs,
        bodyTimeout: s.timeoutMs,
        signal,
      });
      await res.body.dump({ limit: MAX_PROBE_BODY }).catch(() => undefined);
      const passed = res.statusCode >= s.expectStatusMin && res.statusCode <= s.expectStatusMax;
      return { passed, detail: `status ${res.statusCode}` };
    } catch (err) {
      if (signal.aborted) return { passed: false, detail: `timeout after ${s.timeoutMs}ms` };
      const e = err as { code?: string; message?: string };
      return { passed: false, detail: e.code ?? e.message ?? 'error' };
    }
  }

  async close(): Promise<void> {
    for (const key of [...this.entries.keys()]) this.stopOne(key);
    await Promise.all([...this.agents.values()].map((a) => a.destroy().catch(() => undefined)));
  }
}
