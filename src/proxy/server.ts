import { readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { ClientConnection } from './connection.js';
import { createListener, listenOn } from './listener.js';
import type { ServiceConfig } from '../config/index.js';
import type { EngineContext, HoldWaiter } from './context.js';
import { H2Front } from './h2/index.js';
import type { StreamSocket } from './h2/index.js';
import { HoldRegistry } from './hold-registry.js';
import type { ProxyObserver, TableSource } from './observer.js';
import type { ParseLimits } from './head.js';
import { BufferReclaimer, RECLAIM_EVERY_BYTES } from './reclaim.js';
import { SlotPool } from './slot.js';
import { DeadlineSweep } from './sweep.js';
import type { UpgradedConnection } from './upstream.js';

export interface ProxyServerOptions {
  readonly listen: Config['listen'];
  readonly tables: TableSource;
  readonly observer: ProxyObserver;
  readonly logger: Logger;
  /** Access log: one line per request when true (sampled by `accessSample`). */
  readonly accessLog: boolean;
  readonly accessSample: number;
}

/**
 * The data plane's listener: accepts client connections (TCP or TLS) and gives each its
 * ClientConnection. Owns what spans connections: the coarse clock, the deadline sweep, the
 * in-flight counts and graceful shutdown.
 */
export class ProxyServer implements EngineContext {
  server: Server;
  readonly tables: TableSource;
  readonly observer: ProxyObserver;
  readonly proto: string;
  limits: ParseLimits;
  listenConfig: Config['listen'];
  readonly accessLogger: Logger | undefined;
  readonly accessSample: number;
  closing = false;
  /** Shutting down with an idle grace: wait for the client connections to close as well. */
  private drainConnections = false;
  private readonly conns = new Set<ClientConnection>();
  /** The coarse clock and the deadline sweep over `conns`. */
  private readonly sweeper = new DeadlineSweep(this.conns);
  private readonly slots = new SlotPool();
  /** Hold queues by service name (SPEC "Hold and limits"). */
  private readonly holds: HoldRegistry;
  readonly reclaimer = new BufferReclaimer(RECLAIM_EVERY_BYTES);
  private readonly upgrades = new Set<UpgradedConnection>();
  /** Requests being answered right now (all services). */
  private active = 0;
  private closingWaiters: (() => void)[] = [];

  constructor(opts: ProxyServerOptions) {
    this.listenConfig = opts.listen;
    this.tables = opts.tables;
    this.observer = opts.observer;
    this.holds = new HoldRegistry(opts.observer);
    this.accessLogger = opts.accessLog ? opts.logger : undefined;
    this.accessSample = opts.accessSample;
    this.limits = { maxHeaderSize: opts.listen.maxHeaderSize };
    this.proto = opts.listen.tls ? 'https' : 'http';
    this.server = createListener(opts.listen, this.onConnection);
  }

  /** The HTTP/2 side, made with the first HTTP/2 connection. */
  private h2: H2Front | undefined;

  private readonly onConnection = (socket: Socket): void => {
    // One property read per TLS connection; plain ones find the preface in the engine's parse (takeH2).
    if ((socket as TLSSocket).alpnProtocol === 'h2') return this.takeH2(socket);
    this.conns.add(new ClientConnection(this, socket, this.slots));
  };

  /** EngineContext: a connection that speaks HTTP/2 goes to the HTTP/2 side. */
  takeH2(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.h2 ??= new H2Front(this);
    this.h2.handle(socket);
  }

  /** H2Host: a stream is served as a client connection of the engine (counted, swept, drained like one). */
  adoptStream(socket: StreamSocket): void {
    this.conns.add(new ClientConnection(this, socket as unknown as Socket, this.slots));
    socket.start();
  }

  /** H2Host: shutting down, the last HTTP/2 session closed. */
  sessionsClosed(): void {
    if (this.closing) this.checkDrained();
  }

  get clock(): number {
    return this.sweeper.clock;
  }

  /** Requests in flight plus open upgraded connections. */
  get inFlight(): number {
    return this.active + this.upgrades.size;
  }

  requestStarted(): void {
    this.active++;
  }

  requestDone(): void {
    this.active--;
    if (this.closing) this.checkDrained();
  }

  upgradeStarted(conn: UpgradedConnection): void {
    this.upgrades.add(conn);
  }

  upgradeDone(conn: UpgradedConnection): void {
    this.upgrades.delete(conn);
    if (this.closing) this.checkDrained();
  }

  holdEnter(waiter: HoldWaiter, service: string, settings: ServiceConfig, front: boolean): boolean {
    return this.holds.enter(waiter, service, settings, front);
  }

  holdLeave(waiter: HoldWaiter, service: string, waitedMs: number, outcome: 'served' | 'timed_out' | 'left'): void {
    this.holds.leave(waiter, service, waitedMs, outcome);
  }

  roomFreed(service: string): void {
    this.holds.roomFreed(service);
  }

  /** The routing table changed: every waiting request gets a try. */
  tableChanged(): void {
    this.holds.tableChanged();
  }

  /** Requests waiting for a backend now, by service (the live views). */
  holdWaiting(service: string): number {
    return this.holds.waiting(service);
  }

  /**
   * A client connection accepted by another process's listener (a supervisor), handed to this
   * one: it is served as if accepted here (TLS handshake included).
   */
  accept(socket: Socket): void {
    const max = this.listenConfig.maxConnections;
    if (this.closing || (max > 0 && this.conns.size >= max)) {
      socket.destroy();
      return;
    }
    // A handed-over socket is made with Node's defaults: keep serving after the client's FIN.
    (socket as { allowHalfOpen: boolean }).allowHalfOpen = true;
    socket.setNoDelay(true);
    if (this.server instanceof tls.Server) this.server.emit('connection', socket);
    else this.onConnection(socket);
  }

  /** Client connections open now, upgraded ones (WebSocket tunnels, which leave `conns`) included. */
  get connectionCount(): number {
    return this.conns.size + this.upgrades.size;
  }

  connectionClosed(conn: object): void {
    this.conns.delete(conn as ClientConnection);
    if (this.closing && this.drainConnections) this.checkDrained();
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.listenConfig.port, this.listenConfig.host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') return resolve({ host: this.listenConfig.host, port: this.listenConfig.port });
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /**
   * Graceful stop (SIGTERM): stop accepting, answer keep-alive clients with Connection: close, let
   * in-flight requests finish until `timeoutMs`, then close upgraded connections (WebSocket 1001)
   * and cut what is left. Resolves with what had to be cut.
   */
  async shutdown(timeoutMs: number, opts: { readonly keepWaiting?: boolean; readonly idleGraceMs?: number } = {}): Promise<{ cutRequests: number; closedUpgrades: number }> {
    this.closing = true;
    // Waiting for a backend is for the backends' gaps, not the proxy's own exit: answer them now
    // (unless other workers take over: then what waits here keeps waiting, up to its hold timeout).
    if (opts.keepWaiting !== true) this.holds.giveUpAll();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // With a grace, drained means every client connection closed too (each after its last answer).
    this.drainConnections = opts.idleGraceMs !== undefined;
    for (const c of this.conns) c.closeIfIdle(opts.idleGraceMs);
    // HTTP/2 clients: the two-step GOAWAY; their open streams finish.
    this.h2?.shutdown();
    if (!this.drained()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.closingWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
        this.checkDrained();
      });
    }
    const cutRequests = this.active;
    let closedUpgrades = 0;
    for (const conn of [...this.upgrades]) {
      closedUpgrades++;
      conn.close();
    }
    if (cutRequests > 0) for (const c of [...this.conns]) c.socket.destroy();
    // Let the close frames and last bytes leave before the caller exits.
    await Promise.race([closed, new Promise((r) => setTimeout(r, closedUpgrades > 0 ? 300 : 1500).unref())]);
    for (const c of [...this.conns]) c.socket.destroy();
    this.h2?.destroyAll();
    this.holds.stop();
    this.sweeper.stop();
    return { cutRequests, closedUpgrades };
  }

  private drained(): boolean {
    // HTTP/2 sessions count until they close: after the final GOAWAY, once their last stream (and its trailers) went.
    return this.inFlight === 0 && (!this.drainConnections || this.conns.size === 0) && (this.h2 === undefined || this.h2.sessionCount === 0);
  }

  private checkDrained(): void {
    // Empty means no request and no upgraded connection; upgraded ones otherwise wait for the deadline.
    if (this.drained()) {
      const waiters = this.closingWaiters;
      this.closingWaiters = [];
      for (const w of waiters) w();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.holds.stop();
    this.sweeper.stop();
    for (const conn of [...this.upgrades]) conn.close();
    for (const c of [...this.conns]) c.socket.destroy();
    this.h2?.destroyAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // Reload hooks (the runtime decides what changed; these only apply it).

  /** New `listen` settings for connections from now on: header limits, timeouts, underscores, maxConnections. */
  updateListen(listen: Config['listen']): void {
    this.listenConfig = listen;
    this.limits = { maxHeaderSize: listen.maxHeaderSize };
    this.server.maxConnections = listen.maxConnections > 0 ? listen.maxConnections : Infinity;
  }

  /** New connections get the certificate and key in these files; open ones keep theirs. */
  reloadTls(certFile: string, keyFile: string): void {
    if (!(this.server instanceof tls.Server)) throw new Error('the listener does not serve TLS');
    this.server.setSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  }

  /**
   * Listens on a new address (or, `handle`, on a listening socket another process bound: a
   * supervisor's SO_REUSEPORT socket): the new listener is bound first, then the old one stops
   * accepting; connections it accepted stay open and finish (they are the server's, not the listener's).
   */
  async rebind(host: string, port: number, handle?: object): Promise<{ host: string; port: number }> {
    const old = this.server;
    const next = handle !== undefined && !old.listening ? old : createListener(this.listenConfig, this.onConnection);
    const addr = await listenOn(next, handle ?? { host, port });
    this.server = next;
    if (old !== next) old.close();
    return addr;
  }
}
