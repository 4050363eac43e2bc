import net from 'node:net';
import type { Socket } from 'node:net';
import tls from 'node:tls';
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

/** What owns an upstream connection while a request uses it (the client connection). */
export interface UpstreamOwner {
  onUpstreamConnect(conn: UpstreamConn): void;
  onUpstreamData(conn: UpstreamConn, chunk: Buffer): void;
  onUpstreamDrain(conn: UpstreamConn): void;
  /** The socket closed (cleanly or not) while owned; `err` is the socket error, if any. */
  onUpstreamClose(conn: UpstreamConn, err: Error | undefined): void;
}

/**
 * One keep-alive connection to a backend. Its listeners are bound once and hand every event to
 * the current owner; an idle connection has none, and anything it receives ends it.
 */
export class UpstreamConn {
  readonly socket: Socket;
  readonly upstream: Upstream;
  /** The drain generation it was opened in; a connection from before a drain is not reused. */
  readonly generation: number;
  owner: UpstreamOwner | null = null;
  connected = false;
  closed = false;
  /** When it went idle (performance.now() ms). */
  idleSince = 0;
  private error: Error | undefined;

  constructor(upstream: Upstream, socket: Socket, generation: number, secure: boolean) {
    this.upstream = upstream;
    this.socket = socket;
    this.generation = generation;
    socket.on(secure ? 'secureConnect' : 'connect', this.onConnect);
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private readonly onConnect = (): void => {
    this.connected = true;
    this.socket.setNoDelay(true);
    this.owner?.onUpstreamConnect(this);
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.owner !== null) this.owner.onUpstreamData(this, chunk);
    else this.socket.destroy(); // bytes nobody asked for: the connection's framing is lost
  };

  private readonly onDrain = (): void => {
    this.owner?.onUpstreamDrain(this);
  };

  private readonly onError = (err: Error): void => {
    this.error = err;
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.upstream.forget(this);
    const owner = this.owner;
    this.owner = null;
    owner?.onUpstreamClose(this, this.error);
  };

  destroy(): void {
    this.socket.destroy();
  }
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
   * (a request that must not meet a kept-alive socket the backend is closing).
   */
  acquire(owner: UpstreamOwner, fresh = false): UpstreamConn {
    if (fresh) {
      const conn = this.connect();
      conn.owner = owner;
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
    return conn;
  }

  private connect(): UpstreamConn {
    // An h2 backend: each request is a stream on one of its sessions, never kept for another.
    if (this.h2 !== undefined) return new UpstreamConn(this, new H2UpstreamSocket(this.h2, this.secure ? 'https' : 'http') as unknown as Socket, this.generation, false);
    const socket = this.secure
      ? tls.connect({
          host: this.host,
          port: this.port,
          rejectUnauthorized: this.options.rejectUnauthorized,
          ALPNProtocols: ['http/1.1'],
          ...(this.servername === undefined ? {} : { servername: this.servername }),
        })
      : net.connect({ host: this.host, port: this.port });
    return new UpstreamConn(this, socket, this.generation, this.secure);
  }

  /** A request is done with `conn`: keep it for the next one, or close it. */
  release(conn: UpstreamConn, reusable: boolean): void {
    conn.owner = null;
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
