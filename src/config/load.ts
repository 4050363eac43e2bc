import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import type { ValueError } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { DEFAULT_WEIGHT, MAX_POOLS, sumBasisPoints, toBasisPoints } from '../model/index.js';
import { parseDuration } from '../util/index.js';
import { ConfigSchema, Name } from './schema.js';
import { healthCheckKindProblems } from './health-check.js';
import { SECRET_STATE_KEYS, normaliseState } from './state.js';
import { seedMirror } from './mirror.js';
import type { RawConfig, RawServiceConfig } from './schema.js';
import type { AdminToken, Config, HealthCheckSettings, OutlierSettings, ServiceConfig } from './types.js';

/** Reads, interpolates, validates and normalises a config file. Throws ConfigError naming key paths. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML or JSON: ${(err as Error).message}`]);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(file, ['(root): expected a mapping with at least "services"']);
  }
  const problems: string[] = [];
  const substituted: string[] = [];
  const interpolated = interpolate(doc, '', env, problems, substituted);
  if (problems.length > 0) throw new ConfigError(file, problems);
  convertSubstituted(interpolated, substituted);

  const missing = new Set<string>();
  for (const e of Value.Errors(ConfigSchema, interpolated)) {
    // A missing key also fails every check on its (absent) value: say it once.
    if (missing.has(e.path)) continue;
    if (e.type === ValueErrorType.ObjectRequiredProperty) missing.add(e.path);
    problems.push(`${keyPath(e.path)}: ${describe(e)}`);
    if (problems.length >= 20) break;
  }
  if (problems.length > 0) throw new ConfigError(file, dedupe(problems));
  const raw = interpolated as RawConfig;
  const config = normalise(raw, problems);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

function keyPath(pointer: string): string {
  if (pointer === '') return '(root)';
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

function describe(e: ValueError): string {
  const schema = e.schema as { description?: string; properties?: Record<string, unknown>; patternProperties?: Record<string, { description?: string }> };
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    // e.schema is the enclosing object: name what it does accept.
    if (schema.properties !== undefined) return `unknown key (expected one of: ${Object.keys(schema.properties).join(', ')})`;
    return `not a valid name (expected ${Name.description ?? 'a name'})`;
  }
  const expected = schema.description ? ` (expected ${schema.description})` : '';
  if (e.type === ValueErrorType.ObjectRequiredProperty) return `required key is missing${expected}`;
  // A secret (a Redis password, a URL that may carry one) is never echoed back.
  const secret = SECRET_STATE_KEYS.includes(keyPath(e.path));
  const got = e.value === undefined || secret ? '' : `, got ${JSON.stringify(e.value)?.slice(0, 80)}`;
  return `${e.message}${expected}${got}`;
}

const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * `${NAME}` and `${NAME:-default}` in string values only, so a variable can never inject YAML
 * structure. `pointer` is the JSON pointer of `node`; pointers of strings that held a reference
 * are collected in `substituted`.
 */
function interpolate(node: unknown, pointer: string, env: NodeJS.ProcessEnv, problems: string[], substituted: string[]): unknown {
  if (typeof node === 'string') {
    if (!node.includes('${')) return node;
    substituted.push(pointer);
    return node.replace(ENV_RE, (_m, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      problems.push(`${keyPath(pointer)}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(node)) return node.map((v, i) => interpolate(v, `${pointer}/${i}`, env, problems, substituted));
  if (node !== null && typeof node === 'object') {
    // fromEntries defines own keys: `out[k] =` would turn a "__proto__" key into a prototype, hiding it from validation.
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, interpolate(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, env, problems, substituted)]),
    );
  }
  return node;
}

/**
 * `port: ${PORT}` must give a number: a substituted string takes the type the schema expects at
 * its place ("8080" → 8080, "true" → true). Values written literally in the file stay strict.
 */
function convertSubstituted(doc: unknown, substituted: readonly string[]): void {
  if (substituted.length === 0) return;
  const converted = Value.Convert(ConfigSchema, Value.Clone(doc));
  for (const pointer of substituted) {
    const keys = pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    let into: unknown = doc;
    let from: unknown = converted;
    for (const k of keys) {
      into = (into as Record<string, unknown>)[k];
      from = (from as Record<string, unknown> | undefined)?.[k];
    }
    const value = (from as Record<string, unknown> | undefined)?.[last as string];
    if (value !== undefined) (into as Record<string, unknown>)[last as string] = value;
  }
}

function ms(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  return parseDuration(value) ?? fallback;
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

function normalise(raw: RawConfig, problems: string[]): Config {
  const services: Record<string, ServiceConfig> = {};
  const shutdownMs = ms(raw.shutdown?.timeout, 30_000);
  const names = Object.keys(raw.services);
  if (names.length === 0) problems.push('services: expected at least one service');
  for (const name of names) {
    const svc = raw.services[name] as RawServiceConfig;
    services[name] = normaliseService(name, svc, problems);
  }

  const adminTokens: AdminToken[] = [];
  if (raw.admin?.token) adminTokens.push({ name: 'admin', token: raw.admin.token, scope: 'write' });
  for (const t of raw.admin?.tokens ?? []) adminTokens.push({ name: t.name, token: t.token, scope: t.scope });
  const adminHost = raw.admin?.host ?? '127.0.0.1';

  return {
    listen: {
      host: raw.listen?.host ?? '0.0.0.0',
      port: raw.listen?.port ?? 8080,
      ...(raw.listen?.tls ? { tls: { certFile: raw.listen.tls.cert, keyFile: raw.listen.tls.key } } : {}),
      maxConnections: raw.listen?.maxConnections ?? 0,
      headersTimeoutMs: ms(raw.listen?.headersTimeout, 10_000),
      requestTimeoutMs: ms(raw.listen?.requestTimeout, 0),
      keepAliveTimeoutMs: ms(raw.listen?.keepAliveTimeout, 65_000),
      maxHeaderSize: raw.listen?.maxHeaderSize ?? 16_384,
      allowUnderscoreHeaders: raw.listen?.allowUnderscoreHeaders ?? false,
      http2: http2Listen(raw.listen?.http2),
    },
    admin: {
      host: adminHost,
      port: raw.admin?.port ?? 9901,
      tokens: adminTokens,
      protectMetrics: raw.admin?.protectMetrics ?? false,
    },
    state: normaliseState(raw.state, problems),
    log: { level: raw.log?.level ?? 'info', access: raw.log?.access ?? false, accessSample: raw.log?.accessSample ?? 1 },
    shutdownTimeoutMs: shutdownMs,
    workers: raw.workers ?? 1,
    orphanTimeoutMs: ms(raw.shutdown?.orphanTimeout, 600_000),
    services,
    ...(raw.rollouts?.prometheus !== undefined
      ? { rollouts: { prometheus: { url: raw.rollouts.prometheus.url, timeoutMs: ms(raw.rollouts.prometheus.timeout, 5000) } } }
      : {}),
  };
}

/** `listen.http2`: `true`/absent = on with the defaults, `false` = off, an object = on with those limits. */
function http2Listen(raw: NonNullable<RawConfig['listen']>['http2']): Config['listen']['http2'] {
  const o = typeof raw === 'object' ? raw : {};
  return {
    enabled: raw !== false,
    maxConcurrentStreams: o.maxConcurrentStreams ?? 100,
    maxHeaderListSize: o.maxHeaderListSize ?? 16_384,
    initialWindowSize: o.initialWindowSize ?? 65_535,
  };
}

function normaliseService(name: string, svc: RawServiceConfig, problems: string[]): ServiceConfig {
  const at = `services.${name}`;
  const poolNames = Object.keys(svc.pools);
  if (poolNames.length < 1 || poolNames.length > MAX_POOLS) {
    problems.push(`${at}.pools: expected 1..${MAX_POOLS} pools, got ${poolNames.length}`);
  }
  const seen = new Set<string>();
  for (const pool of poolNames) {
    (svc.pools[pool] ?? []).forEach((b, i) => {
      if (seen.has(b.id)) problems.push(`${at}.pools.${pool}[${i}].id: duplicate backend id "${b.id}" in service ${name}`);
      seen.add(b.id);
    });
  }
  let split: Record<string, number>;
  if (svc.split) {
    split = {};
    for (const [pool, pct] of Object.entries(svc.split)) {
      if (!poolNames.includes(pool)) problems.push(`${at}.split.${pool}: unknown pool "${pool}" (pools: ${poolNames.join(', ')})`);
      if (Math.abs(pct * 100 - Math.round(pct * 100)) > 1e-6) problems.push(`${at}.split.${pool}: at most two decimals, got ${pct}`);
      split[pool] = pct;
    }
    for (const pool of poolNames) split[pool] ??= 0;
    const total = sumBasisPoints(split);
    if (total !== 10_000) problems.push(`${at}.split: percentages must sum to 100, got ${total / 100}`);
  } else {
    split = Object.fromEntries(poolNames.map((p, i) => [p, i === 0 ? 100 : 0]));
  }
  for (const [pool, pct] of Object.entries(split)) split[pool] = toBasisPoints(pct) / 100;

  let healthCheck: HealthCheckSettings | undefined;
  if (svc.healthCheck) {
    const hc = svc.healthCheck;
    const [lo, hi] = (hc.expectStatus ?? '200-399').split('-').map(Number);
    const intervalMs = ms(hc.interval, 5000);
    healthCheck = {
      path: hc.path ?? '',
      grpc: hc.grpc === true ? { service: hc.grpcService ?? '' } : undefined,
      intervalMs,
      timeoutMs: ms(hc.timeout, 2000),
      healthyThreshold: hc.healthyThreshold ?? 2,
      unhealthyThreshold: hc.unhealthyThreshold ?? 3,
      expectStatusMin: lo ?? 200,
      expectStatusMax: hi ?? lo ?? 399,
    };
    if (healthCheck.expectStatusMin > healthCheck.expectStatusMax) problems.push(`${at}.healthCheck.expectStatus: range is empty`);
    if (intervalMs < 100) problems.push(`${at}.healthCheck.interval: at least 100ms`);
    problems.push(...healthCheckKindProblems(hc, `${at}.healthCheck`));
  }
  let outlier: OutlierSettings | undefined;
  if (svc.outlier !== false) {
    const o = svc.outlier ?? {};
    outlier = {
      consecutiveFailures: o.consecutiveFailures ?? 5,
      ejectForMs: ms(o.ejectFor, 30_000),
      maxEjectForMs: ms(o.maxEjectFor, 300_000),
      maxEjectedPercent: o.maxEjectedPercent ?? 50,
    };
  }
  return {
    name,
    routes: svc.routes.map((r) => ({ host: (r.host ?? '*').toLowerCase(), pathPrefix: r.pathPrefix ?? '/' })),
    poolNames,
    seedPools: Object.fromEntries(
      poolNames.map((p) => [p, (svc.pools[p] ?? []).map((b) => ({ id: b.id, url: b.url.replace(/\/$/, ''), weight: b.weight ?? DEFAULT_WEIGHT }))]),
    ),
    seedSplit: split,
    ...seedMirror(svc.mirror, poolNames, at, problems),
    healthCheck,
    outlier,
    slowStartMs: ms(svc.slowStart, 0),
    drainTimeoutMs: ms(svc.drain?.timeout, 30_000),
    hold: {
      timeoutMs: ms(svc.hold?.timeout, 0),
      retryIntervalMs: Math.max(10, ms(svc.hold?.retryInterval, 250)),
      maxWaiting: svc.hold?.maxWaiting ?? 1000,
    },
    maxRequestsPerBackend: svc.maxRequestsPerBackend ?? 0,
    sticky: svc.sticky ?? false,
    headerOverride: svc.headerOverride ?? false,
    failover: svc.failover ?? 'split',
    preserveHost: svc.preserveHost ?? true,
    connectTimeoutMs: ms(svc.timeouts?.connect, 2000),
    responseTimeoutMs: ms(svc.timeouts?.response, 60_000),
    idleTimeoutMs: ms(svc.timeouts?.idle, 4000),
    rejectUnauthorized: svc.tls?.rejectUnauthorized ?? true,
    upstreamProtocol: svc.upstreamProtocol ?? 'http1',
  };
}
