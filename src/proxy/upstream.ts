import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Pool } from 'undici';

/** Options for the keep-alive connection pool to one backend. */
export interface UpstreamOptions {
  readonly connectTimeoutMs: number;
  readonly rejectUnauthorized: boolean;
  /**
   * Idle keep-alive sockets are closed after this long (default 4s): shorter than the 5s that Node,
   * and most app servers' defaults, so we never reuse a socket the backend has just closed.
   */
  readonly keepAliveTimeoutMs?: number;
}

/** An upgraded (WebSocket) connection through the proxy, so a drain can close it politely. */
export interface UpgradedConnection {
  readonly client: Socket | Duplex;
  upstream: Socket | Duplex | undefined;
  /** True when the client asked for a WebSocket (a close frame 1001 can be sent). */
  readonly websocket: boolean;
}

const WS_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]); // FIN+close, len 2, code 1001

/**
 * One backend as the data plane sees it: its connection pool and the counts that must survive
 * routing-table rebuilds (in-flight, upgrades). Health and admin state live elsewhere and are
 * compiled into the table; this object holds only what the proxy itself changes.
 */
export class Upstream {
  readonly service: string;
  readonly pool: string;
  readonly id: string;
  readonly url: string;
  readonly origin: string;
  readonly hostHeader: string;
  /** Requests and upgraded connections in flight on this backend right now. */
  inFlight = 0;
  /** Requests started on this backend since it was created (drain progress). */
  started = 0;
  readonly upgrades = new Set<UpgradedConnection>();
  dispatcher: Pool;
  /** Called whenever inFlight drops to 0 (drain bookkeeping); set by the runtime. */
  onIdle: ((up: Upstream) => void) | undefined;
  private readonly options: UpstreamOptions;

  constructor(service: string, pool: string, id: string, url: string, options: UpstreamOptions) {
    this.service = service;
    this.pool = pool;
    this.id = id;
    this.url = url;
    const u = new URL(url);
    this.origin = u.origin;
    this.hostHeader = u.host;
    this.options = options;
    this.dispatcher = this.createPool();
  }

  private createPool(): Pool {
    const keepAlive = this.options.keepAliveTimeoutMs ?? 4000;
    return new Pool(this.origin, {
      connections: null,
      pipelining: 1,
      keepAliveTimeout: keepAlive,
      keepAliveMaxTimeout: keepAlive,
      // A backend that says "Keep-Alive: timeout=N" is trusted, less a second of margin.
      keepAliveTimeoutThreshold: 1000,
      connect: { timeout: this.options.connectTimeoutMs, rejectUnauthorized: this.options.rejectUnauthorized },
      // Timeouts are passed per request (the service's response timeout).
      headersTimeout: 0,
      bodyTimeout: 0,
      maxHeaderSize: 64 * 1024,
    });
  }

  begin(): void {
    this.inFlight++;
    this.started++;
  }

  end(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.onIdle !== undefined) this.onIdle(this);
  }

  /**
   * Draining: close idle keep-alive sockets now and the busy ones once their request ends. A fresh
   * pool is created so a backend put back to `active` can serve again.
   */
  closeIdleConnections(): void {
    const old = this.dispatcher;
    this.dispatcher = this.createPool();
    old.close().catch(() => undefined);
  }

  /** Closes upgraded connections: WebSocket clients get a close frame 1001 (going away) first. */
  closeUpgrades(): number {
    let n = 0;
    for (const conn of this.upgrades) {
      n++;
      closeUpgraded(conn);
    }
    return n;
  }

  async destroy(): Promise<void> {
    this.closeUpgrades();
    await this.dispatcher.destroy().catch(() => undefined);
  }
}

export function closeUpgraded(conn: UpgradedConnection): void {
  const { client, upstream } = conn;
  if (upstream !== undefined) {
    upstream.unpipe(client);
    upstream.destroy();
  }
  if (conn.websocket && client.writable) {
    client.end(WS_GOING_AWAY);
    // Do not wait forever for the client to finish the close handshake.
    setTimeout(() => client.destroy(), 1000).unref();
  } else {
    client.destroy();
  }
}
