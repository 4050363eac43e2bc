import http2 from 'node:http2';
import type { ClientHttp2Session, SecureClientSessionOptions } from 'node:http2';
import { coded } from './upstream-head.js';

/**
 * Streams the first session to a backend is given before the backend's SETTINGS say how many it
 * takes (RFC 9113 §6.5.2 recommends no fewer than 100); later sessions assume what the last
 * SETTINGS said.
 */
const ASSUMED_MAX_STREAMS = 100;

/** What uses a session: one stream to the backend (an H2UpstreamSocket). */
export interface SessionUser {
  /** The session is connected: the stream may go (the engine's "connect"). */
  sessionReady(): void;
  /** The session failed before it connected: nothing reached the backend. */
  sessionFailed(err: Error): void;
  /** The drain deadline passed with this stream open: it ends now (SPEC "HTTP/2 and gRPC"). */
  drainCut(): void;
}

export interface H2PoolOptions {
  /** `http://host:port` or `https://host:port`. */
  readonly origin: string;
  readonly rejectUnauthorized: boolean;
  /** SNI name (never an IP address), or undefined. */
  readonly servername: string | undefined;
  /** Sessions with no stream close after this long (ms). */
  readonly idleMs: number;
}

/** One HTTP/2 session to the backend and the streams on it. */
export class PooledSession {
  readonly session: ClientHttp2Session;
  connected = false;
  /** No new stream goes on it: GOAWAY received, the backend drains, or it failed. */
  retired = false;
  readonly users = new Set<SessionUser>();
  /** performance.now() ms when its last stream ended. */
  idleSince = performance.now();

  /** Streams it takes: the backend's SETTINGS_MAX_CONCURRENT_STREAMS, or what is assumed until they come. */
  limit: number;

  constructor(session: ClientHttp2Session, assumed: number) {
    this.session = session;
    this.limit = assumed;
  }

  get open(): boolean {
    return !this.retired && !this.session.closed && !this.session.destroyed;
  }
}

/**
 * A backend's HTTP/2 sessions (SPEC "HTTP/2 and gRPC": h2 upstream connections are pooled per
 * backend and carry many streams, up to the backend's SETTINGS_MAX_CONCURRENT_STREAMS). A stream
 * goes on the first open session with room, on a new session when every one is full; a session
 * that received GOAWAY takes no new stream and closes once its streams end; sessions idle past
 * `idleMs` close. Draining retires every session (they close as their streams end).
 */
export class H2SessionPool {
  private readonly options: H2PoolOptions;
  private readonly sessions: PooledSession[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private destroyed = false;
  /** What the backend's last SETTINGS said of its concurrent streams. */
  private knownLimit = ASSUMED_MAX_STREAMS;

  constructor(options: H2PoolOptions) {
    this.options = options;
    this.sweeper = setInterval(this.closeIdle, Math.max(100, Math.min(1000, options.idleMs / 4)));
    this.sweeper.unref();
  }

  /** Sessions open now (tests, the drain's view). */
  get sessionCount(): number {
    return this.sessions.length;
  }

  /** A session with room for `user`'s stream; `user` hears when it is connected (never synchronously). */
  take(user: SessionUser): PooledSession {
    let ps: PooledSession | undefined;
    for (const s of this.sessions) {
      if (s.open && s.users.size < s.limit) {
        ps = s;
        break;
      }
    }
    ps ??= this.connect();
    ps.users.add(user);
    if (ps.connected) process.nextTick(() => user.sessionReady());
    return ps;
  }

  /** `user`'s stream is over. */
  release(ps: PooledSession, user: SessionUser): void {
    if (!ps.users.delete(user) || ps.users.size > 0) return;
    ps.idleSince = performance.now();
    // A session that never connected and has no one waiting on it any more is given up.
    if (!ps.connected) ps.session.destroy();
    else if (ps.retired) ps.session.close();
  }

  private connect(): PooledSession {
    const o = this.options;
    const opts: SecureClientSessionOptions = { rejectUnauthorized: o.rejectUnauthorized, ALPNProtocols: ['h2'] };
    if (o.servername !== undefined) opts.servername = o.servername;
    const session = http2.connect(o.origin, opts);
    const ps = new PooledSession(session, this.knownLimit);
    this.sessions.push(ps);
    session.on('connect', () => {
      ps.connected = true;
      for (const u of ps.users) u.sessionReady();
    });
    session.on('remoteSettings', (settings: http2.Settings) => {
      ps.limit = Math.max(1, settings.maxConcurrentStreams ?? ASSUMED_MAX_STREAMS);
      this.knownLimit = ps.limit;
    });
    session.on('error', (err: Error) => this.failed(ps, err));
    session.on('goaway', () => {
      // The backend stops taking streams on it (it restarts, or drains): the next stream opens a new session.
      ps.retired = true;
    });
    session.on('close', () => {
      this.failed(ps, coded('the backend closed its HTTP/2 session', 'ECONNRESET'));
      const i = this.sessions.indexOf(ps);
      if (i >= 0) this.sessions.splice(i, 1);
    });
    // A session with no stream does not keep the process alive.
    session.unref();
    if (this.destroyed) session.destroy();
    return ps;
  }

  private failed(ps: PooledSession, err: Error): void {
    ps.retired = true;
    if (ps.connected) return; // its streams see their own errors
    for (const u of [...ps.users]) u.sessionFailed(err);
  }

  private readonly closeIdle = (): void => {
    const oldest = performance.now() - this.options.idleMs;
    for (const ps of this.sessions) if (ps.users.size === 0 && ps.idleSince <= oldest && !ps.session.closed) ps.session.close();
  };

  /** Draining: no new stream on these sessions; each closes once its streams end. */
  retire(): void {
    for (const ps of this.sessions) {
      ps.retired = true;
      if (!ps.session.closed) ps.session.close();
    }
  }

  /** The drain deadline: every stream still open ends now; returns how many. */
  endStreams(): number {
    let n = 0;
    for (const ps of [...this.sessions]) {
      for (const u of [...ps.users]) {
        n++;
        u.drainCut();
      }
    }
    return n;
  }

  destroy(): void {
    this.destroyed = true;
    clearInterval(this.sweeper);
    for (const ps of [...this.sessions]) {
      ps.retired = true;
      ps.session.destroy();
    }
  }
}
