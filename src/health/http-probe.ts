import { createRequire } from 'node:module';
import type { Agent, Dispatcher } from 'undici';
import { classifyUpstreamError } from '../errors.js';
import type { CheckTarget, Probe, ProbeResult } from './probe.js';

// Loaded with the first health check: a service without checks never pays for the client.
const requireLazy = createRequire(import.meta.url);

const MAX_PROBE_BODY = 64 * 1024;
const PROBE_HEADERS = ['user-agent', 'turnout-health-check', 'accept', '*/*'];

/** HTTP checks: GET path over one keep-alive agent per TLS verification mode. */
export class HttpProbe implements Probe {
  private readonly agents = new Map<boolean, Agent>();

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

  /** Agents are shared by every backend: nothing per backend to release. */
  retain(_keys: ReadonlySet<string>): void {}

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.destroy().catch(() => undefined)));
    this.agents.clear();
  }
}
