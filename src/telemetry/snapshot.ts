import type { TelemetrySource } from './source.js';
import type { TrafficWindows } from './traffic.js';
import type { WindowSummary } from './window.js';

/** Seconds the live figures are averaged over. */
export const SNAPSHOT_WINDOW_SECONDS = 5;

export interface TrafficFigures {
  readonly rps: number;
  readonly errorRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly inFlight: number;
}

export interface BackendTraffic extends TrafficFigures {
  readonly id: string;
  readonly state: string;
  readonly health: string;
  readonly ejected: boolean;
  readonly weight: number;
  readonly effectiveWeight: number;
}

export interface PoolTraffic extends TrafficFigures {
  readonly name: string;
  readonly split: number;
  /** Of its requests in the window, the share that came over HTTP/2 (0-1; gRPC included). */
  readonly h2Share: number;
  readonly backends: readonly BackendTraffic[];
}

/** The mirrored pool's copies (SPEC "Mirroring"): their own rps, errors and latency, never in the pools' figures. */
export interface MirrorTraffic {
  readonly pool: string;
  readonly percent: number;
  readonly rps: number;
  readonly errorRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface ServiceTraffic {
  readonly name: string;
  readonly split: Readonly<Record<string, number>>;
  readonly rps: number;
  /** Requests waiting for a backend right now (hold queue). */
  readonly waiting: number;
  readonly pools: readonly PoolTraffic[];
  /** Present while the service mirrors. */
  readonly mirror?: MirrorTraffic;
}

export interface TrafficSnapshot {
  readonly time: string;
  readonly revision: number;
  readonly windowSeconds: number;
  readonly services: readonly ServiceTraffic[];
}

const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

/** One traffic snapshot (for `/v1/stream` and the dashboard): per service, pool and backend. */
export function trafficSnapshot(
  source: TelemetrySource,
  telemetry: Pick<TrafficWindows, 'poolWindow' | 'backendWindow'> & {
    holdWaiting(service: string): number;
    mirrorWindow?(service: string, pool: string, nowMs: number, seconds: number): WindowSummary;
    poolH2Requests?(service: string, pool: string, nowMs: number, seconds: number): number;
  },
  nowMs: number,
): TrafficSnapshot {
  const services: ServiceTraffic[] = [];
  const w = SNAPSHOT_WINDOW_SECONDS;
  source.forEachService((name, split, pools, mirror) => {
    let svcRps = 0;
    const poolOut: PoolTraffic[] = pools.map((p) => {
      const pw = telemetry.poolWindow(name, p.name, nowMs, w);
      svcRps += pw.rps;
      let inFlight = 0;
      const backends = p.backends.map((b): BackendTraffic => {
        inFlight += b.inFlight;
        const bw = telemetry.backendWindow(b.key, nowMs, w);
        return {
          id: b.id,
          state: b.state,
          health: b.health,
          ejected: b.ejected,
          weight: b.weight,
          effectiveWeight: b.effectiveWeight,
          inFlight: b.inFlight,
          rps: round(bw?.rps ?? 0),
          errorRate: round(bw?.errorRate ?? 0, 4),
          p50Ms: bw?.p50Ms ?? 0,
          p99Ms: bw?.p99Ms ?? 0,
        };
      });
      return {
        name: p.name,
        split: split[p.name] ?? 0,
        h2Share: pw.requests === 0 ? 0 : round((telemetry.poolH2Requests?.(name, p.name, nowMs, w) ?? 0) / pw.requests, 4),
        rps: round(pw.rps),
        errorRate: round(pw.errorRate, 4),
        p50Ms: pw.p50Ms,
        p99Ms: pw.p99Ms,
        inFlight,
        backends,
      };
    });
    const mw = mirror === undefined ? undefined : telemetry.mirrorWindow?.(name, mirror.pool, nowMs, w);
    const mirrorOut =
      mirror === undefined
        ? {}
        : { mirror: { pool: mirror.pool, percent: mirror.percent, rps: round(mw?.rps ?? 0), errorRate: round(mw?.errorRate ?? 0, 4), p50Ms: mw?.p50Ms ?? 0, p99Ms: mw?.p99Ms ?? 0 } };
    services.push({ name, split, rps: round(svcRps), waiting: telemetry.holdWaiting(name), pools: poolOut, ...mirrorOut });
  });
  return { time: new Date(nowMs).toISOString(), revision: source.revision, windowSeconds: w, services };
}
