import net from 'node:net';
import tls from 'node:tls';
import type { OnReadOpts, Socket } from 'node:net';
import { UpstreamConn } from './upstream-conn.js';
import type { RelaySink, UpstreamOwner } from './upstream-conn.js';

export { READ_BUFFER_SIZE, UpstreamConn } from './upstream-conn.js';
export type { RelaySink, UpstreamOwner } from './upstream-conn.js';
import { H2SessionPool, H2UpstreamSocket } from './h2/index.js';

/** Options for the keep-alive connections to one backend. */
export interface UpstreamOptions {
  readonly connectTimeoutMs: number;
  readonly rejectUnauthorized: boolean;
  /**
   * Idle keep-alive sockets are closed after this long (default 4s): shorter than the 5s that Node,
   * and most app servers' defaults, so we never reuse a socket the backend has just closed.
   */
  readonly keepAliveTimeoutMs?: number;
  /** Idle sockets kept per backend (default 128); more are closed when released. */
  readonly maxIdle?: number;
  /** `h2`: streams on pooled HTTP/2 sessions instead of keep-alive sockets (default `http1`). */
  readonly protocol?: 'http1' | 'h2';
}

/** An upgraded (WebSocket) connection through the proxy, so a drain can close it politely. */
export interface UpgradedConnection {
  /** Closes both sides; a WebSocket client gets a close frame 1001 (going away) first. */
  close(): void;
}

const WS_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]); // FIN+close, len 2, code 1001
export { WS_GOING_AWAY };

/**
 * One backend as the data plane sees it: its keep-alive connections (idle ones reused
 * most-recent-first) and the counts that must survive routing-table rebuilds (in-flight,
 * upgrades). Health and admin state live elsewhere and are compiled into the table.
 */
export class Upstream {
  readonly id: string;
  /** `host: 127.0.0.1:3001\r\n`, sent when the service does not pass the client's Host through. */
  readonly hostLine: string;
  /** Requests and upgraded connections in flight on this backend right now. */
  inFlight = 0;
  /** Requests started on this backend since it was created (drain progress). */
  started = 0;
  readonly upgrades = new Set<UpgradedConnection>();
  /** Called whenever inFlight drops to 0 (drain bookkeeping); set by the runtime. */
  onIdle: ((up: Upstream) => void) | undefined;
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  private readonly servername: string | undefined;
  private readonly options: UpstreamOptions;
  private readonly idleMs: number;
  private readonly maxIdle: number;
  private readonly idle: UpstreamConn[] = [];
  private generation = 0;
  private destroyed = false;
  /** The backend's HTTP/2 sessions when its service's upstreamProtocol is `h2`. */
  readonly h2: H2SessionPool | undefined;
  /**
   * Closes idle sockets past the idle timeout. One timer per backend, not a socket timeout: Node
   * refreshes a socket's timer on every read and write, a cost paid on every chunk relayed.
   */
  private readonly sweeper: NodeJS.Timeout;

  constructor(id: string, url: string, options: UpstreamOptions) {
    this.id = id;
    const u = new URL(url);
    this.secure = u.protocol === 'https:';
    this.host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    this.port = Number(u.port || (this.secure ? 443 : 80));
    this.hostLine = `host: ${u.host}\r\n`;
    // SNI takes a name, never an IP address.
    this.servername = this.secure && net.isIP(this.host) === 0 ? this.host : undefined;
    this.options = options;
    this.idleMs = options.keepAliveTimeoutMs ?? 4000;
    this.maxIdle = options.maxIdle ?? 128;
    this.sweeper = setInterval(this.closeStale, Math.max(100, Math.min(1000, this.idleMs / 4)));
    this.sweeper.unref();
    this.h2 =
      options.protocol === 'h2'
        ? new H2SessionPool({ origin: `${u.protocol}//${u.host}`, rejectUnauthorized: options.rejectUnauthorized, servername: this.servername, idleMs: this.idleMs })
        : undefined;
  }

  private readonly closeStale = (): void => {
    if (this.idle.length === 0) return;
    const oldest = performance.now() - this.idleMs;
    // The stack is ordered by idleSince: the stale ones are at the bottom.
    let n = 0;
    while (n < this.idle.length && (this.idle[n] as UpstreamConn).idleSince <= oldest) n++;
    for (const conn of this.idle.splice(0, n)) conn.destroy();
  };

  get connectTimeoutMs(): number {
    return this.options.connectTimeoutMs;
  }

  /**
   * The most recently used idle connection, or a new one (connecting). `fresh`: always a new one
   * (a request that must not meet a kept-alive socket the backend is closing). `sink`: where the
   * owner relays the backend's bytes (the client's socket; see UpstreamConn).
   */
  acquire(owner: UpstreamOwner, sink: RelaySink, fresh = false): UpstreamConn {
    if (fresh) {
      const conn = this.connect();
      conn.owner = owner;
      conn.sink = sink;
      return conn;
    }
    let conn = this.idle.pop();
    // A socket idle past the timeout may be closing on the backend's side right now: never reuse it.
    const oldest = performance.now() - this.idleMs;
    while (conn !== undefined && (conn.closed || conn.socket.destroyed || !conn.socket.readable || conn.idleSince <= oldest)) {
      conn.destroy();
      conn = this.idle.pop();
    }
    conn ??= this.connect();
    conn.owner = owner;
    conn.sink = sink;
    return conn;
  }

  private connect(): UpstreamConn {
    // An h2 backend: each request is a stream on one of its sessions, never kept for another; the
    // stream hands its bytes over as 'data' events (it reads nothing from a socket of its own).
    if (this.h2 !== undefined) {
      const h2 = this.h2;
      const scheme = this.secure ? 'https' : 'http';
      return new UpstreamConn(this, this.generation, false, () => new H2UpstreamSocket(h2, scheme) as unknown as Socket, true);
    }
    return new UpstreamConn(this, this.generation, this.secure, this.open);
  }

  /** Plain and TLS sockets alike read into the connection's own buffer (`onread`, see UpstreamConn). */
  private readonly open = (onread: OnReadOpts) => {
    if (!this.secure) return net.connect({ host: this.host, port: this.port, onread });
    // tls.connect takes `onread` for the cleartext side when it opens the TCP socket itself (Node
    // 15.x and later; its types do not list it).
    const options: tls.ConnectionOptions & { onread: OnReadOpts } = {
      host: this.host,
      port: this.port,
      rejectUnauthorized: this.options.rejectUnauthorized,
      ALPNProtocols: ['http/1.1'],
      onread,
      ...(this.servername === undefined ? {} : { servername: this.servername }),
    };
    return tls.connect(options);
  };

  /** A request is done with `conn`: keep it for the next one, or close it. */
  release(conn: UpstreamConn, reusable: boolean): void {
    conn.owner = null;
    conn.sink = null;
    if (!reusable || conn.closed || this.destroyed || conn.generation !== this.generation || this.idle.length >= this.maxIdle) {
      conn.destroy();
      return;
    }
    conn.idleSince = performance.now();
    this.idle.push(conn);
  }

  /** Called by a closing connection: an idle one leaves the stack. */
  forget(conn: UpstreamConn): void {
    const i = this.idle.lastIndexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
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
   * Draining: idle keep-alive sockets close now, busy ones when their request ends (they belong
   * to an older generation). A backend put back to `active` opens new ones.
   */
  closeIdleConnections(): void {
    this.generation++;
    for (const conn of this.idle.splice(0)) conn.destroy();
    // HTTP/2: no new stream on its sessions; each closes once its streams end.
    this.h2?.retire();
  }

  /**
   * Closes upgraded connections: WebSocket clients get a close frame 1001 (going away) first. The
   * streams still open to an h2 backend end here too (the drain deadline): gRPC ones with
   * grpc-status 14, the others cancelled.
   */
  closeUpgrades(): number {
    let n = this.h2?.endStreams() ?? 0;
    for (const conn of [...this.upgrades]) {
      n++;
      conn.close();
    }
    return n;
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    clearInterval(this.sweeper);
    this.closeUpgrades();
    this.closeIdleConnections();
    this.h2?.destroy();
  }
}
