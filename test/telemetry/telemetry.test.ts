import { describe, expect, test } from 'vitest';
import { Telemetry } from '../../src/telemetry/index.js';
import type { BackendLive, TelemetrySource } from '../../src/telemetry/index.js';

/** Telemetry on a fake clock, attached to one service `web` (pools blue with b1, green empty). */
function setup() {
  let now = 1_700_000_000_000;
  const b1: BackendLive = { id: 'b1', state: 'active', health: 'healthy', ejected: false, weight: 100, effectiveWeight: 100, inFlight: 2, healthOk: true, key: {} };
  let blue: BackendLive[] = [b1];
  const source: TelemetrySource = {
    revision: 7,
    forEachService: (cb) => cb('web', { blue: 100, green: 0 }, [{ name: 'blue', backends: blue }, { name: 'green', backends: [] }]),
  };
  const telemetry = new Telemetry({ now: () => now, defaultMetrics: false });
  telemetry.attach(source);
  return {
    telemetry,
    b1,
    now: () => now,
    advance: (ms: number) => (now += ms),
    removeB1: () => (blue = []),
    /** The exposition's lines that start with `prefix`. */
    lines: async (prefix: string) => (await telemetry.metricsText()).split('\n').filter((l) => l.startsWith(prefix)),
  };
}

describe('the Prometheus exposition', () => {
  test('request counts by code, a duration histogram per pool (zero for a pool without traffic) and the state gauges', async () => {
    const s = setup();
    for (const ms of [3, 30, 3000]) s.telemetry.onResponse('web', 'blue', s.b1.key, 'b1', 200, ms);
    s.telemetry.onResponse('web', 'blue', s.b1.key, 'b1', 502, 4);
    s.telemetry.onProxyError('web', 'blue', 503, 1);
    expect(await s.lines('turnout_requests_total{')).toEqual([
      'turnout_requests_total{service="web",pool="blue",backend="b1",code="200"} 3',
      'turnout_requests_total{service="web",pool="blue",backend="b1",code="502"} 1',
      'turnout_requests_total{service="web",pool="blue",backend="",code="503"} 1',
    ]);
    const duration = await s.lines('turnout_request_duration_seconds');
    expect(duration).toContain('turnout_request_duration_seconds_bucket{service="web",pool="blue",le="0.001"} 1');
    expect(duration).toContain('turnout_request_duration_seconds_bucket{service="web",pool="blue",le="0.005"} 3');
    expect(duration).toContain('turnout_request_duration_seconds_bucket{service="web",pool="blue",le="2.5"} 4');
    expect(duration).toContain('turnout_request_duration_seconds_bucket{service="web",pool="blue",le="+Inf"} 5');
    expect(duration).toContain('turnout_request_duration_seconds_count{service="web",pool="blue"} 5');
    expect(duration).toContain('turnout_request_duration_seconds_sum{service="web",pool="blue"} 3.038');
    expect(duration).toContain('turnout_request_duration_seconds_count{service="web",pool="green"} 0');
    expect(await s.lines('turnout_backend_in_flight{')).toEqual(['turnout_backend_in_flight{service="web",pool="blue",backend="b1"} 2']);
    expect(await s.lines('turnout_split_percent{')).toEqual(['turnout_split_percent{service="web",pool="blue"} 100', 'turnout_split_percent{service="web",pool="green"} 0']);
    expect(await s.lines('turnout_state_revision ')).toEqual(['turnout_state_revision 7']);
  });

  test('a removed backend keeps its counts for 10 minutes of the clock, then all its series end', async () => {
    const s = setup();
    s.telemetry.onResponse('web', 'blue', s.b1.key, 'b1', 200, 3);
    s.telemetry.onHealthCheck('web', 'blue', 'b1', true);
    s.removeB1();
    s.telemetry.forget(s.b1.key);
    s.advance(10 * 60_000 - 1);
    expect(await s.lines('turnout_requests_total{')).toEqual(['turnout_requests_total{service="web",pool="blue",backend="b1",code="200"} 1']);
    expect(await s.lines('turnout_health_checks_total{')).toHaveLength(1);
    s.advance(1);
    expect(await s.lines('turnout_requests_total{')).toEqual([]);
    expect(await s.lines('turnout_health_checks_total{')).toEqual([]);
  });
});

describe('the rolling windows', () => {
  test('record at the injected clock: a pool window forgets after its span, its totals do not', () => {
    const s = setup();
    for (let i = 0; i < 10; i++) s.telemetry.onResponse('web', 'blue', s.b1.key, 'b1', i < 2 ? 500 : 200, 4);
    expect(s.telemetry.poolWindow('web', 'blue', s.now(), 5)).toMatchObject({ requests: 10, errors: 2, errorRate: 0.2, rps: 2 });
    expect(s.telemetry.backendWindow(s.b1.key, s.now(), 5)).toMatchObject({ requests: 10, errors: 2 });
    s.advance(60_000);
    expect(s.telemetry.poolWindow('web', 'blue', s.now(), 60).requests).toBe(0);
    expect(s.telemetry.poolTotals('web', 'blue')).toEqual({ requests: 10, errors: 2 });
    expect(s.telemetry.allPoolCounts(s.now())).toEqual({ 'web/blue': { requests: 10, errors: 2, p99Ms: 0 } });
  });

  test('a proxy answer counts for its pool, not for a backend; a pool without traffic reads as empty', () => {
    const s = setup();
    s.telemetry.onProxyError('web', 'blue', 503, 1);
    s.telemetry.onProxyError('', '', 404, 1);
    expect(s.telemetry.poolTotals('web', 'blue')).toEqual({ requests: 1, errors: 1 });
    expect(s.telemetry.backendWindow(s.b1.key, s.now(), 5)).toBeUndefined();
    expect(s.telemetry.poolWindow('web', 'green', s.now(), 5)).toEqual({ requests: 0, errors: 0, rps: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 });
    expect(Object.keys(s.telemetry.allPoolCounts(s.now()))).toEqual(['web/blue']);
  });
});
