import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { classifyUpstreamError, PROXY_ERROR_STATUS, proxyCodeFor } from '../errors.js';
import type { ProxyErrorCode, UpstreamFailure } from '../errors.js';
import type { PoolTable, ServiceTable } from '../runtime/index.js';
import { downstreamResponseHeaders, headerValue, IDEMPOTENT, setHeaderValue, upstreamRequestHeaders } from './headers.js';
import type { Upstream } from './upstream.js';

/** What the proxy tells the rest of the process about each request (telemetry, outlier detection). */
export interface ProxyObserver {
  /** A response from the backend reached the client (any status), or failed midway. */
  onResponse(svc: ServiceTable, pool: PoolTable, up: Upstream, status: number, durationMs: number): void;
  /** An attempt failed before a response: counted per backend for outlier detection. */
  onUpstreamFailure(svc: ServiceTable, pool: PoolTable, up: Upstream, reason: UpstreamFailure, retried: boolean): void;
  /** A request failed on its retry too (the client gets 502/504). */
  onRetriesExhausted(svc: ServiceTable, pool: PoolTable, up: Upstream, reason: UpstreamFailure): void;
  /** The proxy answered itself (no route, no backend, upstream error). */
  onProxyError(svc: ServiceTable | undefined, pool: PoolTable | undefined, code: ProxyErrorCode, durationMs: number): void;
}

export interface ExchangeContext {
  readonly observer: ProxyObserver;
  readonly proto: 'http' | 'https';
  /** Extra response headers while the proxy shuts down (Connection: close). */
  closing: boolean;
  /** Called once when the client response closes (the server's in-flight count). */
  readonly requestClosed: () => void;
}

const ERROR_MESSAGES: Readonly<Record<ProxyErrorCode, string>> = {
  no_backend: 'no backend is available for this service',
  upstream_error: 'the backend failed to answer',
  upstream_timeout: 'the backend did not answer in time',
  no_route: 'no route matches this request',
  bad_request: 'the request is malformed',
};

export function sendProxyError(res: ServerResponse, code: ProxyErrorCode, requestId: string | undefined, closing: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message: ERROR_MESSAGES[code] } });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-turnout-error': code,
    'cache-control': 'no-store',
  };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  if (closing) headers.connection = 'close';
  res.writeHead(PROXY_ERROR_STATUS[code], headers);
  res.end(body);
}

/**
 * One proxied request: an undici dispatch handler (the legacy callback shape, which undici's Client
 * calls directly, with no per-request header parsing). Streams the body both ways with
 * backpressure, retries once when SPEC allows, and counts the backend's in-flight exactly once.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  private up: Upstream;
  private pool: PoolTable;
  private readonly svc: ServiceTable;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private readonly ctx: ExchangeContext;
  private readonly started: number;
  private readonly hasBody: boolean;
  private readonly stickyCookie: string | undefined;
  private readonly headers: string[];
  private attempt = 0;
  private connected = false;
  private responded = false;
  private counted = false;
  private finished = false;
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private status = 0;

  constructor(
    ctx: ExchangeContext,
    svc: ServiceTable,
    pool: PoolTable,
    up: Upstream,
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    stickyCookie: string | undefined,
  ) {
    this.ctx = ctx;
    this.svc = svc;
    this.pool = pool;
    this.up = up;
    this.req = req;
    this.res = res;
    this.started = started;
    this.stickyCookie = stickyCookie;
    const cl = req.headers['content-length'];
    this.hasBody = (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
    this.headers = upstreamRequestHeaders(req, ctx.proto, svc.settings.preserveHost ? undefined : up.hostHeader);
    res.once('close', this.onClientClose);
  }

  start(): void {
    this.up.begin();
    this.counted = true;
    const s = this.svc.settings;
    try {
      this.up.dispatcher.dispatch(
        {
          origin: this.up.origin,
          path: this.req.url ?? '/',
          method: this.req.method as Dispatcher.HttpMethod,
          headers: this.headers,
          body: this.hasBody ? this.req : null,
          headersTimeout: s.responseTimeoutMs,
          bodyTimeout: s.responseTimeoutMs,
          blocking: false,
          reset: false,
        },
        this,
      );
    } catch (err) {
      this.onError(err as Error);
    }
  }

  private readonly onClientClose = (): void => {
    this.ctx.requestClosed();
    if (this.finished) return;
    // The client went away before the response ended: stop the upstream request.
    if (!this.res.writableFinished) this.abortUpstream?.(new Error('client closed the connection'));
  };

  /** Bound on first use: most responses never fill the client socket's buffer. */
  private onDrain: (() => void) | undefined;

  onConnect(abort: (err?: Error) => void): void {
    this.connected = true;
    this.abortUpstream = abort;
    if (this.res.destroyed) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, _statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx informational: Node answers 100-continue itself.
    this.responded = true;
    this.status = statusCode;
    this.resumeUpstream = resume;
    let extra: string[] | undefined;
    if (this.stickyCookie !== undefined) extra = ['set-cookie', this.stickyCookie];
    if (this.ctx.closing) (extra ??= []).push('connection', 'close');
    try {
      this.res.writeHead(statusCode, downstreamResponseHeaders(rawHeaders, extra));
    } catch {
      // Headers the backend sent that Node refuses to forward (invalid characters).
      this.abortUpstream?.(new Error('invalid response headers'));
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    const ok = this.res.write(chunk);
    if (!ok) this.res.once('drain', (this.onDrain ??= () => this.resumeUpstream?.()));
    return ok;
  }

  onComplete(_trailers: string[] | null): void {
    this.res.end();
    this.finish(true);
  }

  onError(err: Error): void {
    if (this.finished) return;
    const failure = classifyUpstreamError(err, this.connected);
    if (this.res.destroyed) {
      // The client left: not the backend's fault, nothing to answer (499 as nginx logs it).
      if (!this.responded) this.status = 499;
      this.finish(false);
      return;
    }
    if (!this.responded) {
      const next = this.retryTarget(failure);
      this.ctx.observer.onUpstreamFailure(this.svc, this.pool, this.up, failure, next !== undefined);
      if (next !== undefined) {
        this.up.end();
        this.attempt++;
        this.connected = false;
        this.abortUpstream = undefined;
        this.pool = next.pool;
        this.up = next.up;
        // Same request id on the retry; only the Host follows the new backend when it is not passed through.
        if (!this.svc.settings.preserveHost) setHeaderValue(this.headers, 'host', next.up.hostHeader);
        this.start();
        return;
      }
      const code = proxyCodeFor(failure);
      this.status = PROXY_ERROR_STATUS[code];
      if (this.attempt > 0) this.ctx.observer.onRetriesExhausted(this.svc, this.pool, this.up, failure);
      sendProxyError(this.res, code, headerValue(this.headers, 'x-request-id'), this.ctx.closing);
      this.ctx.observer.onProxyError(this.svc, this.pool, code, performance.now() - this.started);
      this.finish(false, true);
      return;
    }
    // Response bytes already reached the client: never retry, cut the response.
    this.ctx.observer.onUpstreamFailure(this.svc, this.pool, this.up, failure, false);
    this.res.destroy();
    this.finish(false);
  }

  /** SPEC retries: once, on another eligible backend, when nothing reached the backend (any method), or on a reset with no response byte for idempotent methods. */
  private retryTarget(failure: UpstreamFailure): { pool: PoolTable; up: Upstream } | undefined {
    if (this.attempt >= 1) return undefined;
    if (this.hasBody && this.req.readableDidRead) return undefined;
    const beforeSend = failure === 'connect_refused' || failure === 'connect_timeout' || failure === 'connect_reset';
    if (!beforeSend && !(failure === 'reset' && IDEMPOTENT.has(this.req.method ?? ''))) return undefined;
    const same = this.pool.balancer.pickOther(this.up);
    if (same !== undefined) return { pool: this.pool, up: same };
    for (const p of this.svc.picker.order) {
      if (p === this.pool) continue;
      const up = p.balancer.pick();
      if (up !== undefined && up !== this.up) return { pool: p, up };
    }
    return undefined;
  }

  private finish(ok: boolean, proxyAnswered = false): void {
    if (this.finished) return;
    this.finished = true;
    if (this.counted) {
      this.counted = false;
      this.up.end();
    }
    if (!proxyAnswered) {
      this.ctx.observer.onResponse(this.svc, this.pool, this.up, ok ? this.status : this.status || 502, performance.now() - this.started);
    }
  }
}
