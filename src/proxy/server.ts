import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Logger } from 'pino';
import { readStickyCookie } from '../balancer/index.js';
import type { Config } from '../config/index.js';
import type { PoolTable, RoutingTable, ServiceTable } from '../runtime/index.js';
import { Exchange, sendProxyError } from './exchange.js';
import type { ExchangeContext, ProxyObserver } from './exchange.js';
import { hostOf } from './headers.js';
import { closeUpgraded } from './upstream.js';
import type { Upstream, UpgradedConnection } from './upstream.js';

/** Where the proxy reads the current routing table; the runtime swaps `current`. */
export interface TableSource {
  readonly current: RoutingTable;
}

export interface ProxyServerOptions {
  readonly listen: Config['listen'];
  readonly tables: TableSource;
  readonly observer: ProxyObserver;
  readonly logger: Logger;
  /** Access log: one line per request when true (sampled by `accessSample`). */
  readonly accessLog: boolean;
  readonly accessSample: number;
}

const kUpgrade = Symbol('turnout.upgrade');

/**
 * Chooses the pool for a request: the header override (when enabled, reaching 0 % pools but never
 * a pool with no eligible backend), then the sticky cookie (while that pool has a share and an
 * eligible backend), then the split. Pure over the table; `random` in [0, 1).
 */
export function choosePool(svc: ServiceTable, req: IncomingMessage, random: number): PoolTable | undefined {
  const s = svc.settings;
  if (s.headerOverride) {
    const wanted = req.headers['x-turnout-pool'];
    if (typeof wanted === 'string') {
      const pool = svc.pools.get(wanted);
      if (pool !== undefined && pool.balancer.size > 0) return pool;
    }
  }
  if (s.sticky) {
    const name = readStickyCookie(req.headers.cookie, svc.cookieName);
    if (name !== undefined) {
      const pool = svc.pools.get(name);
      if (pool !== undefined && pool.share > 0 && pool.balancer.size > 0) return pool;
    }
  }
  return svc.picker.pick(random);
}

/** The Set-Cookie a sticky service sends when the request did not already carry `pool`. */
function stickyCookie(svc: ServiceTable, req: IncomingMessage, pool: PoolTable): string | undefined {
  if (!svc.settings.sticky) return undefined;
  if (readStickyCookie(req.headers.cookie, svc.cookieName) === pool.name) return undefined;
  return pool.setCookie;
}

export class ProxyServer {
  readonly server: Server;
  private readonly opts: ProxyServerOptions;
  private readonly ctx: ExchangeContext;
  private readonly wsProxy: httpProxy;
  private readonly upgrades = new Set<UpgradedConnection>();
  /** Requests being answered right now (all services). */
  private active = 0;
  private closingWaiters: (() => void)[] = [];

  constructor(opts: ProxyServerOptions) {
    this.opts = opts;
    const proto = opts.listen.tls ? 'https' : 'http';
    this.ctx = { observer: opts.observer, proto, closing: false, requestClosed: this.onRequestClosed };
    const serverOptions: http.ServerOptions = {
      headersTimeout: opts.listen.headersTimeoutMs,
      requestTimeout: opts.listen.requestTimeoutMs,
      keepAliveTimeout: opts.listen.keepAliveTimeoutMs,
      maxHeaderSize: opts.listen.maxHeaderSize,
      // Conflicting Content-Length / Transfer-Encoding and other smuggling shapes are refused with 400.
      insecureHTTPParser: false,
      noDelay: true,
    };
    this.server = opts.listen.tls
      ? https.createServer(
          { ...serverOptions, cert: readFileSync(opts.listen.tls.certFile), key: readFileSync(opts.listen.tls.keyFile) },
          this.onRequest,
        )
      : http.createServer(serverOptions, this.onRequest);
    if (opts.listen.maxConnections > 0) this.server.maxConnections = opts.listen.maxConnections;
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });

    this.wsProxy = httpProxy.createProxyServer({ ws: true, xfwd: true, changeOrigin: false });
    // http-proxy rethrows when no one listens to 'error': always listen.
    this.wsProxy.on('error', (err, _req, target) => {
      const socket = target as Duplex | undefined;
      if (socket !== undefined && 'writable' in socket && typeof (socket as Duplex).end === 'function') {
        if ((socket as Duplex).writable && !(socket as Socket & { [kUpgrade]?: boolean })[kUpgrade]) {
          (socket as Duplex).end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-type: application/json\r\nx-turnout-error: upstream_error\r\n\r\n{"error":{"code":"upstream_error","message":"the backend failed to accept the upgrade"}}');
        } else {
          (socket as Duplex).destroy();
        }
      }
      opts.logger.debug({ err: err.message }, 'upgrade proxy error');
    });
    this.wsProxy.on('proxyReqWs', (proxyReq, req) => {
      const conn = (req as IncomingMessage & { [kUpgrade]?: UpgradedConnection })[kUpgrade];
      proxyReq.on('upgrade', (_res, proxySocket: Socket) => {
        if (conn !== undefined) {
          conn.upstream = proxySocket;
          (conn.client as Socket & { [kUpgrade]?: boolean })[kUpgrade] = true;
        }
      });
    });
  }

  /** Requests in flight plus open upgraded connections. */
  get inFlight(): number {
    return this.active + this.upgrades.size;
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.listen.port, this.opts.listen.host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') return resolve({ host: this.opts.listen.host, port: this.opts.listen.port });
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const table = this.opts.tables.current;
    const svc = table.match(hostOf(req), req.url ?? '/');
    this.active++;
    if (svc === undefined) {
      res.once('close', this.onRequestClosed);
      sendProxyError(res, 'no_route', req.headers['x-request-id'] as string | undefined, this.ctx.closing);
      this.opts.observer.onProxyError(undefined, undefined, 'no_route', performance.now() - started);
      return;
    }
    const pool = choosePool(svc, req, Math.random());
    const up = pool?.balancer.pick();
    if (pool === undefined || up === undefined) {
      res.once('close', this.onRequestClosed);
      sendProxyError(res, 'no_backend', req.headers['x-request-id'] as string | undefined, this.ctx.closing);
      this.opts.observer.onProxyError(svc, undefined, 'no_backend', performance.now() - started);
      return;
    }
    if (this.opts.accessLog) this.logAccess(req, res, svc, pool, up, started);
    // The exchange listens to the response's close once, and reports it back through the context.
    new Exchange(this.ctx, svc, pool, up, req, res, started, stickyCookie(svc, req, pool)).start();
  };

  private readonly onRequestClosed = (): void => {
    this.active--;
    if (this.ctx.closing) this.checkDrained();
  };

  private pick(svc: ServiceTable, req: IncomingMessage): { pool: PoolTable; up: Upstream } | undefined {
    const pool = choosePool(svc, req, Math.random());
    const up = pool?.balancer.pick();
    return pool === undefined || up === undefined ? undefined : { pool, up };
  }

  private logAccess(req: IncomingMessage, res: ServerResponse, svc: ServiceTable, pool: PoolTable, up: Upstream, started: number): void {
    if (this.opts.accessSample < 1 && Math.random() >= this.opts.accessSample) return;
    res.once('finish', () => {
      this.opts.logger.info(
        {
          method: req.method,
          // JSON-escaped by pino; never interpolated into a format string.
          url: req.url,
          status: res.statusCode,
          service: svc.name,
          pool: pool.name,
          backend: up.id,
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'access',
      );
    });
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    if (this.ctx.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const table = this.opts.tables.current;
    const svc = table.match(hostOf(req), req.url ?? '/');
    const choice = svc === undefined ? undefined : this.pick(svc, req);
    if (svc === undefined || choice === undefined) {
      const code = svc === undefined ? 'no_route' : 'no_backend';
      const status = svc === undefined ? '404 Not Found' : '503 Service Unavailable';
      const body = `{"error":{"code":"${code}","message":"${code === 'no_route' ? 'no route matches this request' : 'no backend is available for this service'}"}}`;
      socket.end(
        `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json\r\nx-turnout-error: ${code}\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    const up = choice.up;
    const websocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    const conn: UpgradedConnection = { client: socket, upstream: undefined, websocket };
    (req as IncomingMessage & { [kUpgrade]?: UpgradedConnection })[kUpgrade] = conn;
    up.begin();
    up.upgrades.add(conn);
    this.upgrades.add(conn);
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      up.upgrades.delete(conn);
      this.upgrades.delete(conn);
      up.end();
      if (this.ctx.closing) this.checkDrained();
    };
    socket.once('close', end);
    this.wsProxy.ws(req, socket, head, {
      target: up.origin,
      secure: svc.settings.rejectUnauthorized,
      changeOrigin: !svc.settings.preserveHost,
    });
  };

  /**
   * Graceful stop (SIGTERM): stop accepting, answer keep-alive clients with Connection: close, let
   * in-flight requests finish until `deadlineMs`, then close upgraded connections (WebSocket 1001)
   * and cut what is left. Resolves with what had to be cut.
   */
  async shutdown(timeoutMs: number): Promise<{ cutRequests: number; closedUpgrades: number }> {
    this.ctx.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inFlight > 0) {
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
    for (const conn of this.upgrades) {
      closedUpgrades++;
      closeUpgraded(conn);
    }
    if (cutRequests > 0) this.server.closeAllConnections();
    // Let the close frames and last bytes leave before the caller exits.
    await Promise.race([closed, new Promise((r) => setTimeout(r, closedUpgrades > 0 ? 300 : 1500).unref())]);
    this.server.closeAllConnections();
    return { cutRequests, closedUpgrades };
  }

  private checkDrained(): void {
    // Empty means no request and no upgraded connection; upgraded ones otherwise wait for the deadline.
    if (this.inFlight === 0) {
      const waiters = this.closingWaiters;
      this.closingWaiters = [];
      for (const w of waiters) w();
    }
  }

  async close(): Promise<void> {
    this.ctx.closing = true;
    for (const conn of this.upgrades) closeUpgraded(conn);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.wsProxy.close();
  }
}
