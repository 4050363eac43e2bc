import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { webService } from '../helpers/config.js';
import { ECHO_SERVICE, startGrpcBackend } from '../helpers/grpc.js';
import { api, startTestTurnout, testDocument } from '../helpers/turnout.js';

/** Polls `cond` until true or `ms` passed. */
const until = async (cond: () => boolean | Promise<boolean>, ms: number, step = 25): Promise<boolean> => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
};

interface HealthEvent {
  type: string;
  backend?: string;
  message: string;
  details?: Record<string, unknown>;
}

/** The problems parseConfigText finds in service `web` with this healthCheck (none: the normalised check). */
function parseCheck(healthCheck: Record<string, unknown>): { problems: readonly string[]; settings?: unknown } {
  const doc = testDocument(webService({ blue: [{ id: 'g1', url: 'http://127.0.0.1:50051' }] }, { healthCheck }));
  try {
    return { problems: [], settings: parseConfigText(stringify(doc), 'turnout.yaml', {}).services.web?.healthCheck };
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return { problems: (err as ConfigError).problems };
  }
}

describe('healthCheck.grpc in the config', () => {
  test.each([
    ['grpc together with path', { grpc: true, path: '/health' }, 'services.web.healthCheck.path: not with grpc: true'],
    ['grpc together with expectStatus', { grpc: true, expectStatus: '200' }, 'services.web.healthCheck.expectStatus: not with grpc: true'],
    ['grpcService without grpc', { path: '/health', grpcService: 'x' }, 'services.web.healthCheck.grpcService: only with grpc: true'],
    ['neither path nor grpc', { interval: '1s' }, 'services.web.healthCheck.path: required (or grpc: true'],
    ['grpcService not a string', { grpc: true, grpcService: 7 }, 'services.web.healthCheck.grpcService: '],
  ])('%s is refused with its key path', (_name, hc, problem) => {
    const { problems } = parseCheck(hc);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  test('grpc: true with a service name is normalised with the HTTP check defaults', () => {
    expect(parseCheck({ grpc: true, grpcService: ECHO_SERVICE, interval: '1s' })).toEqual({
      problems: [],
      settings: { path: '', grpc: { service: ECHO_SERVICE }, intervalMs: 1000, timeoutMs: 2000, healthyThreshold: 2, unhealthyThreshold: 3, expectStatusMin: 200, expectStatusMax: 399 },
    });
    expect(parseCheck({ grpc: true }).settings).toMatchObject({ grpc: { service: '' } });
    expect(parseCheck({ path: '/h' }).settings).toMatchObject({ path: '/h', grpc: undefined });
  });
});

describe('gRPC health checks mark backends through the runtime', () => {
  test('SERVING is healthy; NOT_SERVING turns unhealthy after unhealthyThreshold and gets no traffic; SERVING again heals', async () => {
    const g1 = await startGrpcBackend('g1');
    const g2 = await startGrpcBackend('g2');
    const t = await startTestTurnout(
      webService({ blue: [g1, g2] }, { healthCheck: { grpc: true, interval: '100ms', timeout: '1s', unhealthyThreshold: 3, healthyThreshold: 2 } }),
    );
    const view = (id: string): string | undefined => t.runtime.backendView('web', id)?.health;
    // The start-up probe already passed.
    expect(view('g1')).toBe('healthy');
    expect(view('g2')).toBe('healthy');
    g2.setHealth('NOT_SERVING');
    expect(await until(() => view('g2') === 'unhealthy', 5000)).toBe(true);
    expect(view('g1')).toBe('healthy');
    expect(t.runtime.backendView('web', 'g2')?.effectiveWeight).toBe(0);
    const events = (await api(t, 'GET', '/v1/services/web/events')).body.events as HealthEvent[];
    const down = events.find((e) => e.type === 'health' && e.backend === 'g2' && /→ unhealthy/.test(e.message));
    expect(down?.message).toBe('healthy → unhealthy: grpc.health.v1.Health/Check saw NOT_SERVING (3 failures in a row)');
    expect(down?.details).toMatchObject({ check: 'grpc.health.v1.Health/Check', saw: 'NOT_SERVING', expect: 'SERVING' });
    g2.setHealth('SERVING');
    expect(await until(() => view('g2') === 'healthy', 5000)).toBe(true);
  });

  test('grpcService asks about that service, not the server', async () => {
    const g1 = await startGrpcBackend('g1');
    const t = await startTestTurnout(webService({ blue: [g1] }, { healthCheck: { grpc: true, grpcService: ECHO_SERVICE, interval: '100ms' } }));
    expect(t.runtime.backendView('web', 'g1')?.health).toBe('healthy');
    g1.setHealth('NOT_SERVING'); // the server as a whole: not what this check asks
    g1.setHealth('NOT_SERVING', ECHO_SERVICE);
    expect(await until(() => t.runtime.backendView('web', 'g1')?.health === 'unhealthy', 5000)).toBe(true);
    const events = (await api(t, 'GET', '/v1/services/web/events')).body.events as HealthEvent[];
    expect(events.some((e) => e.backend === 'g1' && e.message.includes(`grpc.health.v1.Health/Check("${ECHO_SERVICE}") saw NOT_SERVING`))).toBe(true);
  });

  test('a backend that goes down is unhealthy, with the reason in the event', async () => {
    const g1 = await startGrpcBackend('g1');
    const g2 = await startGrpcBackend('g2', { keepCleanup: true });
    const t = await startTestTurnout(webService({ blue: [g1, g2] }, { healthCheck: { grpc: true, interval: '100ms', timeout: '500ms' } }));
    expect(t.runtime.backendView('web', 'g2')?.health).toBe('healthy');
    await g2.close();
    expect(await until(() => t.runtime.backendView('web', 'g2')?.health === 'unhealthy', 8000)).toBe(true);
    const events = (await api(t, 'GET', '/v1/services/web/events')).body.events as HealthEvent[];
    const down = events.find((e) => e.backend === 'g2' && /→ unhealthy/.test(e.message));
    expect(down?.message).toMatch(/^healthy → unhealthy: grpc\.health\.v1\.Health\/Check saw (UNAVAILABLE: .+|timeout after \d+ms) \(3 failures in a row\)$/);
  });

  test('a backend registered later must pass healthyThreshold gRPC checks before it gets traffic', async () => {
    const g1 = await startGrpcBackend('g1');
    const g2 = await startGrpcBackend('g2', { health: 'NOT_SERVING' });
    const t = await startTestTurnout(webService({ blue: [g1] }, { healthCheck: { grpc: true, interval: '100ms', healthyThreshold: 3 } }));
    const r = await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: 'g2', url: g2.url });
    expect(r.status).toBe(201);
    expect(r.body.backend.health).toBe('unknown');
    // NOT_SERVING keeps it out, however many probes pass by.
    expect(await until(() => t.runtime.backendView('web', 'g2')?.health === 'healthy', 800)).toBe(false);
    g2.setHealth('SERVING');
    expect(await until(() => t.runtime.backendView('web', 'g2')?.health === 'healthy', 5000)).toBe(true);
    const events = (await api(t, 'GET', '/v1/services/web/events')).body.events as HealthEvent[];
    expect(events.some((e) => e.backend === 'g2' && /→ healthy: grpc\.health\.v1\.Health\/Check saw SERVING \(3 passes in a row\)/.test(e.message))).toBe(true);
  });
});
