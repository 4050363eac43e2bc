import { EdfBalancer } from '../balancer/index.js';
import type { ServiceConfig } from '../config/index.js';
import type { MirrorRecord } from '../model/index.js';
import { Framing } from './framing.js';
import { MirrorCopy } from './mirror-copy.js';
import type { CopyOwner, MirrorDropReason, MirrorSource } from './mirror-copy.js';
import { MirrorDrop } from './mirror-copy.js';
import { Upstream } from './upstream.js';

/** Where copies' outcomes go (telemetry: `turnout_mirror_*`, the mirrored pool's live window). */
export interface MirrorObserver {
  /** A copy's answer was read (`status`), or the copy failed: 502 (connect, reset, bad answer), 504 (timed out). */
  onMirrorAnswer(service: string, pool: string, backendId: string, status: number, durationMs: number): void;
  /** A copy was not sent (MirrorDrop). */
  onMirrorDropped(service: string, pool: string, reason: MirrorDropReason): void;
}

/** How often in-flight copies are checked against their deadlines (no timer per copy). */
const SWEEP_MS = 100;

/** One backend of the mirrored pool as the table passes it: eligible, with its effective weight. */
export interface MirrorBackend {
  readonly id: string;
  readonly url: string;
  readonly weight: number;
}

/**
 * A service's mirror in one routing table (immutable but for the balancer's cursor): which
 * requests are copied and where. `take` is the one call the data plane makes, and only for a
 * service that has a mirror.
 */
export class MirrorTable {
  readonly pool: string;
  /** Basis points of requests copied (100 % = 10000). */
  readonly share: number;
  readonly methods: ReadonlySet<string>;
  readonly maxBodyBytes: number;
  readonly maxInFlight: number;
  readonly preserveHost: boolean;
  private readonly balancer: EdfBalancer<Upstream>;
  private readonly owner: MirrorPool;

  constructor(owner: MirrorPool, record: MirrorRecord, preserveHost: boolean, balancer: EdfBalancer<Upstream>) {
    this.owner = owner;
    this.pool = record.pool;
    this.share = Math.round(record.percent * 100);
    this.methods = new Set(record.methods);
    this.maxBodyBytes = record.maxBodyBytes;
    this.maxInFlight = record.maxInFlight;
    this.preserveHost = preserveHost;
    this.balancer = balancer;
  }

  /**
   * Copies the request `conn` is sending now, when it is one to copy: a listed method, within the
   * share (`random` in [0, 1)), a body within maxBodyBytes, room under maxInFlight and a backend
   * of the pool (the last three counted as dropped when they fail). `requestId`: the X-Request-Id
   * turnout gave the request. Returns the copy when its body is still to come (the exchange feeds
   * it), else null.
   */
  take(conn: MirrorSource, requestId: string | undefined, random: number, body: Buffer, bodyStart: number, bodyEnd: number): MirrorCopy | null {
    const head = conn.head;
    if (!this.methods.has(head.method)) return null;
    if (random * 10_000 >= this.share) return null;
    const owner = this.owner;
    const mode = conn.reqBody.mode;
    if (mode === Framing.LENGTH && head.contentLength > this.maxBodyBytes) return owner.dropped(MirrorDrop.TOO_LARGE);
    if (owner.inFlight >= this.maxInFlight) return owner.dropped(MirrorDrop.FULL);
    const up = this.balancer.pick();
    if (up === undefined) return owner.dropped(MirrorDrop.NO_BACKEND);
    const copy = owner.copy(up);
    return copy.begin(conn, this.preserveHost, requestId, this.maxBodyBytes, body, bodyStart, bodyEnd) ? copy : null;
  }
}

/**
 * A service's mirroring across routing tables: the copies in flight (counted against
 * maxInFlight, cut at their deadlines by one sweep), the mirrored backends' own keep-alive
 * connections (never the ones real requests use: a slow mirror cannot take them), and the pooled
 * copy objects. The runtime keeps one per service with a mirror and compiles a MirrorTable from
 * it for each table.
 */
export class MirrorPool implements CopyOwner {
  readonly service: string;
  pool = '';
  connectTimeoutMs = 2000;
  responseTimeoutMs = 60_000;
  /** Copies out now (collecting their body, or sent and not answered). */
  inFlight = 0;
  private readonly observer: MirrorObserver;
  private readonly upstreams = new Map<string, Upstream>();
  private readonly active = new Set<MirrorCopy>();
  private readonly free: MirrorCopy[] = [];
  private maxFree = 100;
  private readonly sweeper: NodeJS.Timeout;

  constructor(service: string, observer: MirrorObserver) {
    this.service = service;
    this.observer = observer;
    this.sweeper = setInterval(this.sweep, SWEEP_MS);
    this.sweeper.unref();
  }

  /**
   * The table's mirror for `record` over `backends` (the eligible ones of the mirrored pool).
   * Connections to backends that are no longer among them close.
   */
  compile(record: MirrorRecord, settings: ServiceConfig, backends: readonly MirrorBackend[]): MirrorTable {
    this.pool = record.pool;
    this.connectTimeoutMs = settings.connectTimeoutMs;
    this.responseTimeoutMs = settings.responseTimeoutMs;
    this.maxFree = record.maxInFlight;
    const keep = new Map<string, Upstream>();
    const weights = new Map<Upstream, number>();
    for (const b of backends) {
      const key = `${b.id} ${b.url}`;
      const up =
        this.upstreams.get(key) ??
        new Upstream(b.id, b.url, {
          connectTimeoutMs: settings.connectTimeoutMs,
          rejectUnauthorized: settings.rejectUnauthorized,
          keepAliveTimeoutMs: settings.idleTimeoutMs,
          maxIdle: Math.min(128, record.maxInFlight),
        });
      keep.set(key, up);
      weights.set(up, b.weight);
    }
    for (const [key, up] of this.upstreams) if (!keep.has(key)) void up.destroy();
    this.upstreams.clear();
    for (const [key, up] of keep) this.upstreams.set(key, up);
    const balancer = new EdfBalancer([...weights.keys()], (u) => weights.get(u) ?? 0);
    return new MirrorTable(this, record, settings.preserveHost, balancer);
  }

  /** A copy object for `up` (reused), counted in flight. */
  copy(up: Upstream): MirrorCopy {
    const copy = this.free.pop() ?? new MirrorCopy(this);
    copy.up = up;
    copy.deadline = 0;
    this.inFlight++;
    this.active.add(copy);
    return copy;
  }

  /** A copy not made: counted, and the caller gets null. */
  dropped(reason: MirrorDropReason): null {
    this.observer.onMirrorDropped(this.service, this.pool, reason);
    return null;
  }

  copyDone(copy: MirrorCopy, status: number, durationMs: number): void {
    if (!this.active.delete(copy)) return;
    this.inFlight--;
    this.observer.onMirrorAnswer(this.service, this.pool, copy.up.id, status, durationMs);
    this.recycle(copy);
  }

  copyDropped(copy: MirrorCopy, reason: MirrorDropReason): void {
    if (!this.active.delete(copy)) return;
    this.inFlight--;
    // Not reused: the exchange that fed it may still hold it (it stops feeding a copy that stopped collecting).
    this.observer.onMirrorDropped(this.service, this.pool, reason);
  }

  /** Only a copy that was sent is reused: by then no exchange holds it. */
  private recycle(copy: MirrorCopy): void {
    if (this.free.length < this.maxFree) this.free.push(copy);
  }

  private readonly sweep = (): void => {
    if (this.active.size === 0) return;
    const now = performance.now();
    for (const copy of this.active) if (copy.deadline > 0 && copy.deadline <= now) copy.timeout();
  };

  /** The mirror stops (or the process): copies out are cut, uncounted, and every connection closes. */
  close(): void {
    clearInterval(this.sweeper);
    for (const copy of this.active) copy.cancel();
    this.active.clear();
    this.inFlight = 0;
    this.free.length = 0;
    for (const up of this.upstreams.values()) void up.destroy();
    this.upstreams.clear();
  }
}
