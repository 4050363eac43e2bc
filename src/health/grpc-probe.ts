import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';
import type { CheckTarget, Probe, ProbeResult } from './probe.js';

// Loaded with the first gRPC check: a process without one never loads grpc-js.
const requireLazy = createRequire(import.meta.url);

interface HealthReply {
  readonly status?: string;
}
type CheckMethod = (
  request: { service: string },
  options: Grpc.CallOptions,
  callback: (err: Grpc.ServiceError | null, reply?: HealthReply) => void,
) => Grpc.ClientUnaryCall;
type HealthClient = Grpc.Client & { readonly Check: CheckMethod };

interface Channel {
  readonly url: string;
  readonly rejectUnauthorized: boolean;
  readonly client: HealthClient;
}

interface Lib {
  readonly grpc: typeof Grpc;
  readonly Health: Grpc.ServiceClientConstructor;
}

/** Time a probe may spend connecting before its timeout starts (the HTTP probe's connect timeout). */
const CONNECT_ALLOWANCE_MS = 2000;

/** A backend's own message can be long (grpc-js puts the whole connect error in it): events keep the start. */
const MAX_DETAIL = 200;

/**
 * gRPC checks: grpc.health.v1.Health/Check over one channel per backend (grpc-js with
 * grpc-health-check's service definition: no hand-written protobuf), kept between probes and
 * closed when the backend is no longer checked. SERVING passes; any other status, an error or the
 * deadline fails, and the detail says which.
 */
export class GrpcProbe implements Probe {
  private readonly channels = new Map<string, Channel>();
  private lib: Lib | undefined;

  private load(): Lib {
    if (this.lib === undefined) {
      const grpc = requireLazy('@grpc/grpc-js') as typeof Grpc;
      const { service } = requireLazy('grpc-health-check') as { service: Grpc.ServiceDefinition };
      this.lib = { grpc, Health: grpc.makeGenericClientConstructor(service, 'Health') };
    }
    return this.lib;
  }

  private channel(t: CheckTarget): HealthClient {
    const have = this.channels.get(t.key);
    if (have !== undefined && have.url === t.url && have.rejectUnauthorized === t.rejectUnauthorized) return have.client;
    have?.client.close();
    const { grpc, Health } = this.load();
    const u = new URL(t.url);
    const credentials =
      u.protocol === 'https:'
        ? grpc.credentials.createSsl(null, null, null, t.rejectUnauthorized ? {} : { rejectUnauthorized: false, checkServerIdentity: () => undefined })
        : grpc.credentials.createInsecure();
    // grpc-js backs off reconnects up to 120 s by default: a backend that comes back would look
    // down for minutes. Retry at most once an interval, and never retry a probe inside grpc-js.
    const backoffMs = Math.min(1000, t.settings.intervalMs);
    const client = new Health(u.host, credentials, {
      'grpc.initial_reconnect_backoff_ms': backoffMs,
      'grpc.min_reconnect_backoff_ms': backoffMs,
      'grpc.max_reconnect_backoff_ms': t.settings.intervalMs,
      'grpc.enable_retries': 0,
      'grpc.service_config_disable_resolution': 1,
    }) as unknown as HealthClient;
    this.channels.set(t.key, { url: t.url, rejectUnauthorized: t.rejectUnauthorized, client });
    return client;
  }

  probe(t: CheckTarget): Promise<ProbeResult> {
    const s = t.settings;
    const service = s.grpc?.service ?? '';
    return new Promise<ProbeResult>((resolve) => {
      try {
        const { grpc } = this.load();
        const client = this.channel(t);
        // As the HTTP probe, the timeout bounds the answer; a channel still to connect gets the
        // connect allowance on top (grpc-js has no separate connect deadline for a call).
        const ready = client.getChannel().getConnectivityState(true) === grpc.connectivityState.READY;
        const deadlineMs = s.timeoutMs + (ready ? 0 : CONNECT_ALLOWANCE_MS);
        client.Check({ service }, { deadline: Date.now() + deadlineMs }, (err, reply) => {
          if (err !== null) {
            if (err.code === grpc.status.DEADLINE_EXCEEDED) return resolve({ passed: false, detail: `timeout after ${deadlineMs}ms` });
            const name = grpc.status[err.code] ?? String(err.code);
            return resolve({ passed: false, detail: `${name}: ${err.details}`.slice(0, MAX_DETAIL) });
          }
          const status = reply?.status ?? 'UNKNOWN';
          resolve({ passed: status === 'SERVING', detail: status });
        });
      } catch (err) {
        resolve({ passed: false, detail: (err as Error).message.slice(0, MAX_DETAIL) });
      }
    });
  }

  retain(keys: ReadonlySet<string>): void {
    for (const [key, c] of this.channels) {
      if (keys.has(key)) continue;
      c.client.close();
      this.channels.delete(key);
    }
  }

  async close(): Promise<void> {
    this.retain(new Set());
  }
}
