import { formatDuration } from '../util/index.js';
import { redactUrl } from './state.js';
import type { Config, ServiceConfig } from './types.js';

/** One difference between the served config and a new one, in the file's words (key paths, "5s"). */
export type ConfigChange =
  | { readonly kind: 'service_added'; readonly service: string }
  | { readonly kind: 'service_removed'; readonly service: string }
  | { readonly kind: 'setting_changed'; readonly service: string; readonly path: string; readonly from: unknown; readonly to: unknown }
  | { readonly kind: 'listen_changed'; readonly path: string; readonly from: unknown; readonly to: unknown }
  /** A key a reload does not apply (admin listener, state store, logging, TLS on or off): the reload is refused. */
  | { readonly kind: 'restart_required'; readonly path: string; readonly from: unknown; readonly to: unknown }
  | { readonly kind: 'shutdown_changed'; readonly path: string; readonly from: unknown; readonly to: unknown };

type Flat = Map<string, unknown>;
const dur = (ms: number): string => formatDuration(ms);

/** A service's settings as file key paths; a section that is off is one key holding `false`. */
function flattenService(s: ServiceConfig): Flat {
  const out: Flat = new Map<string, unknown>([
    ['routes', s.routes.map((r) => ({ host: r.host, pathPrefix: r.pathPrefix }))],
    ['pools', [...s.poolNames]],
    ['slowStart', dur(s.slowStartMs)],
    ['drain.timeout', dur(s.drainTimeoutMs)],
    ['sticky', s.sticky],
    ['headerOverride', s.headerOverride],
    ['failover', s.failover],
    ['preserveHost', s.preserveHost],
    ['timeouts.connect', dur(s.connectTimeoutMs)],
    ['timeouts.response', dur(s.responseTimeoutMs)],
    ['timeouts.idle', dur(s.idleTimeoutMs)],
    ['tls.rejectUnauthorized', s.rejectUnauthorized],
    ['upstreamProtocol', s.upstreamProtocol],
  ]);
  const hc = s.healthCheck;
  if (hc === undefined) out.set('healthCheck', false);
  else {
    out.set('healthCheck.path', hc.path);
    out.set('healthCheck.grpc', hc.grpc !== undefined);
    out.set('healthCheck.grpcService', hc.grpc?.service ?? '');
    out.set('healthCheck.interval', dur(hc.intervalMs));
    out.set('healthCheck.timeout', dur(hc.timeoutMs));
    out.set('healthCheck.healthyThreshold', hc.healthyThreshold);
    out.set('healthCheck.unhealthyThreshold', hc.unhealthyThreshold);
    out.set('healthCheck.expectStatus', `${hc.expectStatusMin}-${hc.expectStatusMax}`);
  }
  const o = s.outlier;
  if (o === undefined) out.set('outlier', false);
  else {
    out.set('outlier.consecutiveFailures', o.consecutiveFailures);
    out.set('outlier.ejectFor', dur(o.ejectForMs));
    out.set('outlier.maxEjectFor', dur(o.maxEjectForMs));
    out.set('outlier.maxEjectedPercent', o.maxEjectedPercent);
  }
  return out;
}

function flattenListen(l: Config['listen']): Flat {
  return new Map<string, unknown>([
    ['listen.host', l.host],
    ['listen.port', l.port],
    ['listen.tls', l.tls === undefined ? false : true],
    ['listen.tls.cert', l.tls?.certFile],
    ['listen.tls.key', l.tls?.keyFile],
    ['listen.maxConnections', l.maxConnections],
    ['listen.headersTimeout', dur(l.headersTimeoutMs)],
    ['listen.requestTimeout', dur(l.requestTimeoutMs)],
    ['listen.keepAliveTimeout', dur(l.keepAliveTimeoutMs)],
    ['listen.maxHeaderSize', l.maxHeaderSize],
    ['listen.allowUnderscoreHeaders', l.allowUnderscoreHeaders],
  ]);
}

/** What a reload cannot apply: the admin listener and tokens, the state store, logging. Tokens are compared, never shown. */
function flattenRestartOnly(c: Config): Flat {
  return new Map<string, unknown>([
    ['admin.host', c.admin.host],
    ['admin.port', c.admin.port],
    ['admin.tokens', c.admin.tokens.map((t) => `${t.name}:${t.scope}:${t.token}`).join(',')],
    ['admin.protectMetrics', c.admin.protectMetrics],
    ['state.store', c.state.store],
    ['state.path', c.state.path],
    ['state.url', c.state.url],
    ['state.sentinels', c.state.sentinels],
    ['state.name', c.state.name],
    ['state.username', c.state.username],
    ['state.password', c.state.password],
    ['state.sentinelPassword', c.state.sentinelPassword],
    ['state.tls', c.state.tls],
    ['state.prefix', c.state.prefix],
    ['log.level', c.log.level],
    ['log.access', c.log.access],
    ['log.accessSample', c.log.accessSample],
    ['workers', c.workers],
  ]);
}

/** A restart-only change as it may be shown: tokens and passwords hidden, a Redis URL without its password. */
function shown(d: { path: string; from: unknown; to: unknown }): { path: string; from: unknown; to: unknown } {
  if (d.path === 'admin.tokens' || d.path === 'state.password' || d.path === 'state.sentinelPassword') return { path: d.path, from: '(hidden)', to: '(hidden)' };
  if (d.path === 'state.url') return { path: d.path, from: typeof d.from === 'string' ? redactUrl(d.from) : d.from, to: typeof d.to === 'string' ? redactUrl(d.to) : d.to };
  return d;
}

/** Pairs of keys that differ; a section switched on or off is one change on the section's key. */
function differing(a: Flat, b: Flat): { path: string; from: unknown; to: unknown }[] {
  const out: { path: string; from: unknown; to: unknown }[] = [];
  const sectionToggled = new Set<string>();
  for (const [k, v] of a) if (v === false && b.has(k) !== a.has(k)) sectionToggled.add(k);
  for (const [k, v] of b) if (v === false && a.has(k) !== b.has(k)) sectionToggled.add(k);
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const section = k.includes('.') ? k.slice(0, k.lastIndexOf('.')) : k;
    if (sectionToggled.has(section) && k !== section) continue;
    const from = sectionToggled.has(k) ? (a.get(k) ?? true) : a.get(k);
    const to = sectionToggled.has(k) ? (b.get(k) ?? true) : b.get(k);
    if (JSON.stringify(from) !== JSON.stringify(to)) out.push({ path: k, from: from ?? null, to: to ?? null });
  }
  return out;
}

/**
 * What reloading `next` over `prev` changes, in a stable order: services added and removed, then
 * per-service settings, then the listener, shutdown and keys only a restart applies. Seeds
 * (pools' backends, weights, splits) are not compared: the state store owns them. Pure.
 */
export function diffConfig(prev: Config, next: Config): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const service of Object.keys(next.services)) if (!Object.hasOwn(prev.services, service)) out.push({ kind: 'service_added', service });
  for (const service of Object.keys(prev.services)) if (!Object.hasOwn(next.services, service)) out.push({ kind: 'service_removed', service });
  for (const [service, n] of Object.entries(next.services)) {
    const p = Object.hasOwn(prev.services, service) ? prev.services[service] : undefined;
    if (p === undefined) continue;
    for (const d of differing(flattenService(p), flattenService(n))) out.push({ kind: 'setting_changed', service, ...d });
  }
  for (const d of differing(flattenListen(prev.listen), flattenListen(next.listen))) {
    // Turning TLS on or off needs another kind of listener: a restart.
    out.push({ kind: d.path === 'listen.tls' ? 'restart_required' : 'listen_changed', ...d });
  }
  if (prev.shutdownTimeoutMs !== next.shutdownTimeoutMs) {
    out.push({ kind: 'shutdown_changed', path: 'shutdown.timeout', from: dur(prev.shutdownTimeoutMs), to: dur(next.shutdownTimeoutMs) });
  }
  for (const d of differing(flattenRestartOnly(prev), flattenRestartOnly(next))) {
    out.push({ kind: 'restart_required', ...shown(d) });
  }
  return out;
}

/**
 * `next` with every service whose settings did not change replaced by `prev`'s object, so the
 * runtime can tell changed services by identity and keep the others' compiled tables.
 */
export function keepUnchanged(prev: Config, next: Config, changes: readonly ConfigChange[]): Config {
  const touched = new Set(changes.flatMap((c) => ('service' in c ? [c.service] : [])));
  const services: Record<string, ServiceConfig> = {};
  for (const [name, s] of Object.entries(next.services)) services[name] = !touched.has(name) && prev.services[name] !== undefined ? prev.services[name] : s;
  return { ...next, services };
}
