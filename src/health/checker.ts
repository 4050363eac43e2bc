import { createRequire } from 'node:module';
import type { Agent, Dispatcher } from 'undici';

// Loaded with the first health check: a service without checks never pays for the client.
const requireLazy = createRequire(import.meta.url);
import type { HealthCheckSettings } from '../config/index.js';
import { classifyUpstreamError } from '../errors.js';

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
const PROBE_HEADERS = ['user-agent', 'turnout-health-check', 'accept', '*/*'];

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
  private readonly agents = new Map<boolean, Agent>();
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

  private agent(rejectUnauthorized: boolean): Agent {
    let a = this.agents.get(rejectUnauthorized);
    if (a === undefined) {
      // One keep-alive connection per backend is plenty for one probe at a time.
      const { Agent: UndiciAgent } = requireLazy('undici') as typeof import('undici');
      a = new UndiciAgent({ connections: 1, keepAliveTimeout: 4000, keepAliveMaxTimeout: 4000, connect: { rejectUnauthorized, timeout: 2000 } });
      this.agents.set(rejectUnauthorized, a);
    }
    return a;
  }

  /**
   * One probe: GET path, status in the expected range within the timeout; the body is read up to
   * 64 KiB and dropped (a larger one ends the probe and its connection). A bare dispatch handler: no
   * stream objects or abort signals per probe, which matters at hundreds of probes a second.
   */
  probe(target: CheckTarget): Promise<ProbeResult> {
    const s = target.settings;
    return new Promise<ProbeResult>((resolve) => {
      let status = 0;
      let bytes = 0;
      let done = false;
      let abort: ((err?: Error) => void) | undefined;
      const finish = (r: ProbeResult): void => {
        if (done) return;
        done = true;
        resolve(r);
      };
      const pass = (): ProbeResult => ({ passed: status >= s.expectStatusMin && status <= s.expectStatusMax, detail: `status ${status}` });
      const handler: Dispatcher.DispatchHandler = {
        onConnect(a: (err?: Error) => void) {
          abort = a;
        },
        onHeaders(statusCode: number) {
          if (statusCode < 200) return true;
          status = statusCode;
          return true;
        },
        onData(chunk: Buffer) {
          bytes += chunk.length;
          if (bytes > MAX_PROBE_BODY) {
            // Enough: the status is known; do not read a huge body.
            finish(pass());
            abort?.(new Error('probe body too large'));
            return false;
          }
          return true;
        },
        onComplete() {
          finish(pass());
        },
        onError(err: Error) {
          if (status > 0) return finish(pass());
          // The proxy's mapping of socket errors, so a probe and a request name a failure alike.
          const failure = classifyUpstreamError(err, abort !== undefined);
          if (failure === 'timeout' || failure === 'connect_timeout') return finish({ passed: false, detail: `timeout after ${s.timeoutMs}ms` });
          finish({ passed: false, detail: (err as { code?: string }).code ?? err.message ?? 'error' });
        },
      };
      try {
        const u = new URL(target.url);
        this.agent(target.rejectUnauthorized).dispatch(
          {
            origin: u.origin,
            path: s.path,
            method: 'GET',
            headers: PROBE_HEADERS,
            headersTimeout: s.timeoutMs,
            bodyTimeout: s.timeoutMs,
          },
          handler,
        );
      } catch (err) {
        finish({ passed: false, detail: (err as Error).message });
      }
    });
  }

  async close(): Promise<void> {
    for (const key of [...this.entries.keys()]) this.stopOne(key);
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.agents.values()].map((a) => a.destroy().catch(() => undefined)));
  }
}
