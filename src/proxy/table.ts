import { EdfBalancer, SplitPicker } from '../balancer/index.js';
import type { ServiceConfig } from '../config/index.js';
import type { MirrorTable } from './mirror.js';
import type { Upstream } from './upstream.js';

/**
 * The immutable snapshot the data plane reads once per request: routes compiled to a sorted list,
 * per service the pool picker and per pool the balancer over eligible backends only. The only
 * mutable parts are the balancers' cursors.
 */
export interface PoolTable {
  readonly name: string;
  /** Basis points of the split (100 % = 10000). */
  readonly share: number;
  /** Over the eligible backends only; size 0 when none can serve. */
  readonly balancer: EdfBalancer<Upstream>;
  /** Set-Cookie value a sticky service sends for this pool (built once per table). */
  readonly setCookie: string;
}

export interface ServiceTable {
  readonly name: string;
  readonly settings: ServiceConfig;
  /** `turnout_<service>` */
  readonly cookieName: string;
  readonly pools: ReadonlyMap<string, PoolTable>;
  readonly picker: SplitPicker<PoolTable>;
  /** Where copies of its requests go (SPEC "Mirroring"); undefined: none, and no cost per request. */
  readonly mirror: MirrorTable | undefined;
}

export interface CompiledRoute {
  readonly host: string; // "*", "*.example.com" or exact
  readonly suffix: string | undefined; // ".example.com" for a wildcard host
  readonly pathPrefix: string;
  readonly service: ServiceTable;
  readonly rank: number;
}

export class RoutingTable {
  readonly revision: number;
  readonly services: ReadonlyMap<string, ServiceTable>;
  private readonly routes: readonly CompiledRoute[];

  constructor(revision: number, services: ReadonlyMap<string, ServiceTable>) {
    this.revision = revision;
    this.services = services;
    const routes: CompiledRoute[] = [];
    for (const svc of services.values()) {
      for (const r of svc.settings.routes) {
        const hostClass = r.host === '*' ? 0 : r.host.startsWith('*.') ? 1 : 2;
        routes.push({
          host: r.host,
          suffix: hostClass === 1 ? r.host.slice(1) : undefined,
          pathPrefix: r.pathPrefix,
          service: svc,
          // Most specific host first (exact, then longer wildcard suffixes, then "*"), then the longest path prefix.
          rank: hostClass * 1_000_000 + (hostClass === 1 ? r.host.length * 1000 : 0) + r.pathPrefix.length,
        });
      }
    }
    routes.sort((a, b) => b.rank - a.rank);
    this.routes = routes;
  }

  /** `host` lower case without port; `path` the request target (query allowed). */
  match(host: string, path: string): ServiceTable | undefined {
    for (const r of this.routes) {
      if (r.host !== '*') {
        if (r.suffix !== undefined) {
          if (!host.endsWith(r.suffix) || host.length === r.suffix.length) continue;
        } else if (host !== r.host) continue;
      }
      if (pathMatches(path, r.pathPrefix)) return r.service;
    }
    return undefined;
  }
}

/** Segment-aware prefix: "/api" matches "/api", "/api/x" and "/api?q", not "/apix". */
export function pathMatches(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  if (!path.startsWith(prefix)) return false;
  if (path.length === prefix.length || prefix.endsWith('/')) return true;
  const c = path.charCodeAt(prefix.length);
  return c === 47 /* / */ || c === 63 /* ? */;
}

export const EMPTY_TABLE = new RoutingTable(0, new Map());

export interface ServiceInput {
  readonly settings: ServiceConfig;
  readonly split: Readonly<Record<string, number>>;
  /** Pools in declared order, each with its eligible upstreams and their effective weights. */
  readonly pools: readonly { readonly name: string; readonly eligible: readonly { readonly upstream: Upstream; readonly weight: number }[] }[];
  /** Where each pool's round robin starts (default 0: its first backend). */
  readonly start?: number;
  readonly mirror?: MirrorTable | undefined;
}

/** Pure assembly of a service's table from already-decided eligibility and weights. */
export function buildServiceTable(input: ServiceInput): ServiceTable {
  const pools = new Map<string, PoolTable>();
  const shares: { pool: PoolTable; share: number; available: boolean }[] = [];
  for (const p of input.pools) {
    const weights = new Map<Upstream, number>();
    for (const e of p.eligible) weights.set(e.upstream, e.weight);
    const balancer = new EdfBalancer(
      p.eligible.map((e) => e.upstream),
      (u) => weights.get(u) ?? 0,
      input.start ?? 0,
    );
    const share = Math.round((input.split[p.name] ?? 0) * 100);
    const table: PoolTable = { name: p.name, share, balancer, setCookie: `turnout_${input.settings.name}=${p.name}; Path=/; HttpOnly; SameSite=Lax` };
    pools.set(p.name, table);
    shares.push({ pool: table, share, available: balancer.size > 0 });
  }
  return {
    name: input.settings.name,
    settings: input.settings,
    cookieName: `turnout_${input.settings.name}`,
    pools,
    picker: new SplitPicker(shares, input.settings.failover === 'any'),
    mirror: input.mirror,
  };
}
