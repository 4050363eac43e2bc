import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigFile, parseConfigText } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { tempDir } from '../helpers/serve.js';
import { MISTAKES, validDoc } from './mistakes.js';

const FILE = 'conf/turnout.yaml';

function problemsOf(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseConfigText(text, FILE, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('parseConfigText accepted the config');
}

describe('parseConfigText refuses a config with one mistake, naming the key path and the expectation', () => {
  test.for(MISTAKES)('$name', (m) => {
    const doc = validDoc(8080, 9901);
    m.mutate?.(doc);
    const err = problemsOf(m.text ?? stringify(doc), m.env);
    expect(err.file).toBe(FILE);
    expect(err.message).toContain(FILE);
    const hit = err.problems.find((p) => (m.path === undefined ? true : p.startsWith(`${m.path}: `)));
    expect(hit, `no problem at ${m.path} in ${JSON.stringify(err.problems)}`).toBeDefined();
    expect(hit).toMatch(m.expected);
    // One mistake, one problem: no echo of the same key from other schema branches.
    expect(err.problems).toHaveLength(1);
  });

  test('a "__proto__" key is refused like any unknown key, not hidden as a prototype', () => {
    const err = problemsOf('__proto__: { colour: 1 }\nservices: { web: { routes: [{}], pools: { blue: [] } } }\n');
    expect(err.problems).toEqual([expect.stringMatching(/^__proto__: unknown key \(expected one of: listen,/)]);
  });

  test('the valid document the mistakes start from is accepted', () => {
    const config = parseConfigText(stringify(validDoc(8080, 9901)), FILE, {});
    expect(config.listen.port).toBe(8080);
    expect(config.services.web?.seedSplit).toEqual({ blue: 100, green: 0 });
  });

  test('a file that cannot be read is named with the reason', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'nope.yaml');
    let err: unknown;
    try {
      loadConfigFile(missing, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).file).toBe(missing);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^cannot read the file: ENOENT/)]);
  });
});

describe('environment interpolation', () => {
  const text = [
    'listen: { host: "${TURNOUT_TEST_HOST:-127.0.0.1}", port: "${TURNOUT_TEST_PORT}" }',
    'admin: { token: "${TURNOUT_TEST_TOKEN}", protectMetrics: "${TURNOUT_TEST_PROTECT:-false}" }',
    'state: { store: file, path: "${TURNOUT_TEST_DIR:-}/state.json" }',
    'services:',
    '  web:',
    '    routes: [{ host: "*" }]',
    '    pools: { blue: [{ id: b1, url: "http://${TURNOUT_TEST_BACKEND}:3001", weight: "${TURNOUT_TEST_WEIGHT:-7}" }] }',
    '',
  ].join('\n');

  test('${ENV} is substituted, ${ENV:-default} falls back when unset or empty, and numbers and booleans take the schema type', () => {
    const config = parseConfigText(text, FILE, {
      TURNOUT_TEST_PORT: '8181',
      TURNOUT_TEST_TOKEN: 's3cret',
      TURNOUT_TEST_BACKEND: '10.1.2.3',
      TURNOUT_TEST_DIR: '',
    });
    expect(config.listen.host).toBe('127.0.0.1');
    expect(config.listen.port).toBe(8181);
    expect(config.admin.tokens).toEqual([{ name: 'admin', token: 's3cret', scope: 'write' }]);
    expect(config.admin.protectMetrics).toBe(false);
    expect(config.state.path).toBe('/state.json');
    expect(config.services.web?.seedPools.blue).toEqual([{ id: 'b1', url: 'http://10.1.2.3:3001', weight: 7 }]);
  });

  test('a set variable wins over the default', () => {
    const config = parseConfigText(text, FILE, {
      TURNOUT_TEST_HOST: '0.0.0.0',
      TURNOUT_TEST_PORT: '80',
      TURNOUT_TEST_TOKEN: 't',
      TURNOUT_TEST_BACKEND: 'app',
      TURNOUT_TEST_PROTECT: 'true',
      TURNOUT_TEST_DIR: '/var/lib/turnout',
      TURNOUT_TEST_WEIGHT: '0',
    });
    expect(config.listen.host).toBe('0.0.0.0');
    expect(config.listen.port).toBe(80);
    expect(config.admin.protectMetrics).toBe(true);
    expect(config.state.path).toBe('/var/lib/turnout/state.json');
    expect(config.services.web?.seedPools.blue?.[0]).toEqual({ id: 'b1', url: 'http://app:3001', weight: 0 });
  });

  test('a variable cannot inject YAML structure: its value stays one string', () => {
    const config = parseConfigText(text, FILE, {
      TURNOUT_TEST_PORT: '8181',
      TURNOUT_TEST_TOKEN: 'x\nservices: {}\n',
      TURNOUT_TEST_BACKEND: 'app',
    });
    expect(config.admin.tokens[0]?.token).toBe('x\nservices: {}\n');
    expect(Object.keys(config.services)).toEqual(['web']);
  });

  test('every unset variable is reported with its key path', () => {
    const err = problemsOf(text, { TURNOUT_TEST_PORT: '1' });
    expect(err.problems).toEqual([
      'admin.token: environment variable TURNOUT_TEST_TOKEN is not set',
      'services.web.pools.blue[0].url: environment variable TURNOUT_TEST_BACKEND is not set',
    ]);
  });
});

describe('accepted configs', () => {
  test('a JSON config file is accepted', async () => {
    const dir = await tempDir();
    const file = join(dir, 'turnout.json');
    await writeFile(
      file,
      JSON.stringify({
        listen: { port: 8081 },
        services: { api: { routes: [{ host: 'api.example.com', pathPrefix: '/v2' }], pools: { stable: [], canary: [] }, split: { stable: 99.5, canary: 0.5 } } },
      }),
    );
    const config = loadConfigFile(file, {});
    expect(config.listen.port).toBe(8081);
    expect(config.services.api?.routes).toEqual([{ host: 'api.example.com', pathPrefix: '/v2' }]);
    expect(config.services.api?.seedSplit).toEqual({ stable: 99.5, canary: 0.5 });
  });

  test('defaults are filled and durations are in ms', () => {
    const config = parseConfigText(
      stringify({ services: { web: { routes: [{}], pools: { blue: [{ id: 'b1', url: 'http://127.0.0.1:3001/' }], green: [] } } } }),
      FILE,
      {},
    );
    expect(config.listen).toEqual({
      host: '0.0.0.0',
      port: 8080,
      maxConnections: 0,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 0,
      keepAliveTimeoutMs: 65_000,
      maxHeaderSize: 16_384,
      allowUnderscoreHeaders: false,
      // SPEC "HTTP/2 and gRPC": listen.http2 is on by default, with these limits.
      http2: { enabled: true, maxConcurrentStreams: 100, maxHeaderListSize: 16_384, initialWindowSize: 65_535 },
    });
    expect(config.admin).toEqual({ host: '127.0.0.1', port: 9901, tokens: [], protectMetrics: false });
    expect(config.state).toEqual({ store: 'file', path: './data/state.json', prefix: 'turnout:' });
    expect(config.log).toEqual({ level: 'info', access: false, accessSample: 1 });
    expect(config.shutdownTimeoutMs).toBe(30_000);
    expect(config.services.web).toEqual({
      name: 'web',
      routes: [{ host: '*', pathPrefix: '/' }],
      poolNames: ['blue', 'green'],
      seedPools: { blue: [{ id: 'b1', url: 'http://127.0.0.1:3001', weight: 100 }], green: [] },
      seedSplit: { blue: 100, green: 0 },
      healthCheck: undefined,
      outlier: { consecutiveFailures: 5, ejectForMs: 30_000, maxEjectForMs: 300_000, maxEjectedPercent: 50 },
      slowStartMs: 0,
      drainTimeoutMs: 30_000,
      hold: { timeoutMs: 0, retryIntervalMs: 250, maxWaiting: 1000 },
      maxRequestsPerBackend: 0,
      sticky: false,
      headerOverride: false,
      failover: 'split',
      preserveHost: true,
      connectTimeoutMs: 2000,
      responseTimeoutMs: 60_000,
      idleTimeoutMs: 4000,
      rejectUnauthorized: true,
      upstreamProtocol: 'http1',
    });
  });

  test('durations in every unit become ms; health check defaults fill the rest', () => {
    const config = parseConfigText(
      stringify({
        listen: { headersTimeout: '1.5s', keepAliveTimeout: '1h' },
        shutdown: { timeout: '45s' },
        services: {
          web: {
            routes: [{}],
            pools: { blue: [] },
            healthCheck: { path: '/health/ready', interval: '2s' },
            slowStart: '1m',
            drain: { timeout: '500ms' },
            timeouts: { connect: '250ms', response: '2m' },
          },
        },
      }),
      FILE,
      {},
    );
    expect(config.listen.headersTimeoutMs).toBe(1500);
    expect(config.listen.keepAliveTimeoutMs).toBe(3_600_000);
    expect(config.shutdownTimeoutMs).toBe(45_000);
    const web = config.services.web;
    expect(web?.healthCheck).toEqual({
      path: '/health/ready',
      intervalMs: 2000,
      timeoutMs: 2000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      expectStatusMin: 200,
      expectStatusMax: 399,
    });
    expect(web?.slowStartMs).toBe(60_000);
    expect(web?.drainTimeoutMs).toBe(500);
    expect(web?.connectTimeoutMs).toBe(250);
    expect(web?.responseTimeoutMs).toBe(120_000);
  });
});
