import http2 from 'node:http2';
import type { Http2Server, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Config } from '../../config/index.js';
import { headerListSize } from './header-list.js';
import { newResetBudget, spendReset } from './reset-budget.js';
import type { ResetBudget, ResetLimits } from './reset-budget.js';
import { StreamSocket } from './stream-socket.js';

/** The highest stream id (RFC 9113 §5.1.1): the first GOAWAY of a graceful close names it. */
const MAX_STREAM_ID = 2 ** 31 - 1;
/** Between the two GOAWAYs of a graceful close: a round trip's time for streams already sent. */
const GOAWAY_GAP_MS = 1000;
/** A flooding session stays open this long at most after its GOAWAY, for its client to read it. */
const CALM_LINGER_MS = 1000;

/** Aborted streams a session may have: 500 at once, 33 more a second (below nghttp2's 1000 and 33). */
const RESET_LIMITS: ResetLimits = { burst: 500, ratePerSec: 33 };
/**
 * SETTINGS and PING frames a session may send (each costs an answer): a client sends a few, gRPC's
 * keepalive and BDP pings some a second. nghttp2 stops a flood only once 1,000 answers queue
 * unsent, which a client that never reads does not reach while the kernel's socket buffers take
 * them; this budget ends it either way (GOAWAY ENHANCE_YOUR_CALM).
 */
const CONTROL_LIMITS: ResetLimits = { burst: 1000, ratePerSec: 100 };

/** What the HTTP/2 side needs from the server it belongs to. */
export interface H2Host {
  readonly listenConfig: Config['listen'];
  /** A stream, as a client connection of the engine: served like one. */
  adoptStream(socket: StreamSocket): void;
  /** While shutting down: the last session closed (after its final GOAWAY and its last stream). */
  sessionsClosed(): void;
}

/** node:http2 server options for `listen.http2`'s limits, and the flood limits (SPEC "HTTP/2 and gRPC": Limits). */
/** Options node reads that its type definitions do not list yet (the rapid-reset limits, node >= 20.12). */
type SessionOptions = http2.ServerOptions & { readonly streamResetBurst?: number; readonly streamResetRate?: number };

export function sessionOptions(listen: Config['listen']): SessionOptions {
  const h = listen.http2;
  return {
    settings: {
      maxConcurrentStreams: h.maxConcurrentStreams,
      maxHeaderListSize: h.maxHeaderListSize,
      initialWindowSize: h.initialWindowSize,
      enablePush: false,
    },
    maxHeaderListPairs: 256 + 4,
    // Flood limits nghttp2 and node enforce for each session.
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    maxOutstandingPings: 10,
    maxSettings: 32,
    maxSessionMemory: 10,
    streamResetBurst: 1000,
    streamResetRate: 33,
  };
}

/**
 * The HTTP/2 side of the listener: sockets that speak HTTP/2 (ALPN h2, or the prior-knowledge
 * preface on a plain listener) are given to one node:http2 server (nghttp2: framing, HPACK, flow
 * control); each stream it opens becomes a StreamSocket handed to the engine. Keeps the sessions
 * for graceful shutdown and idle close.
 */
export class H2Front {
  private readonly host: H2Host;
  private readonly server: Http2Server;
  /** Open sessions and their streams in progress. */
  private readonly sessions = new Map<Http2Session, number>();
  /** Each session's rapid-reset budget. */
  private readonly resets = new WeakMap<Http2Session, ResetBudget>();
  /** Each session's budget of SETTINGS and PING frames. */
  private readonly controls = new WeakMap<Http2Session, ResetBudget>();
  /** Streams opened in this turn of the event loop, not handed to the engine yet (see onStream). */
  private opened: StreamSocket[] = [];
  private spare: StreamSocket[] = [];
  private handing = false;
  private closing = false;

  constructor(host: H2Host) {
    this.host = host;
    this.server = http2.createServer(sessionOptions(host.listenConfig));
    this.server.on('session', this.onSession);
    this.server.on('stream', this.onStream);
    this.server.on('sessionError', () => undefined);
  }

  /** A socket that speaks HTTP/2 (bytes already read are unshifted back onto it). */
  handle(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.server.emit('connection', socket);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }


  private readonly onSession = (session: Http2Session): void => {
    this.sessions.set(session, 0);
    this.resets.set(session, newResetBudget(RESET_LIMITS, Date.now()));
    this.controls.set(session, newResetBudget(CONTROL_LIMITS, Date.now()));
    session.on('remoteSettings', () => this.controlFrame(session));
    session.on('ping', () => this.controlFrame(session));
    session.on('error', () => undefined);
    session.on('close', () => {
      this.sessions.delete(session);
      if (this.closing && this.sessions.size === 0) this.host.sessionsClosed();
    });
    // Idle: no stream for listen.keepAliveTimeout (a long quiet stream keeps its session).
    session.setTimeout(this.host.listenConfig.keepAliveTimeoutMs, () => {
      if ((this.sessions.get(session) ?? 0) === 0) session.close();
    });
  };

  private readonly onStream = (stream: ServerHttp2Stream, _headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void => {
    const session = stream.session;
    // An oversized header list closes the connection (SPEC "HTTP/2 and gRPC": Limits): GOAWAY
    // ENHANCE_YOUR_CALM, and the stream never reaches the engine (nor a backend).
    if (headerListSize(rawHeaders) > this.host.listenConfig.http2.maxHeaderListSize) {
      stream.on('error', () => undefined);
      // This stream was not processed.
      if (session !== undefined) this.calm(session, Math.max(0, (stream.id ?? 0) - 2));
      return;
    }
    if (session !== undefined) {
      this.sessions.set(session, (this.sessions.get(session) ?? 0) + 1);
      stream.once('close', () => {
        const n = this.sessions.get(session);
        if (n !== undefined) this.sessions.set(session, n - 1);
        // Ended before its answer did (a client's RST_STREAM): rapid reset when it keeps happening.
        const budget = stream.aborted ? this.resets.get(session) : undefined;
        if (budget !== undefined && !spendReset(budget, RESET_LIMITS, Date.now())) this.calm(session, stream.id ?? 0);
      });
    }
    // Handed to the engine once this turn's reads are processed, not now: node:http2 emits each
    // stream as nghttp2 parses its HEADERS, before it reads the RST_STREAM that may follow in the
    // same bytes (rapid reset). A stream reset by then never reaches the engine, nor a backend,
    // nor a connection to one. The StreamSocket keeps the stream's events meanwhile.
    this.opened.push(new StreamSocket(stream, rawHeaders, stream.endAfterHeaders));
    if (!this.handing) {
      this.handing = true;
      setImmediate(this.handOver);
    }
  };

  /** The streams of this turn that are still open go to the engine; one Immediate a turn, not one a stream. */
  private readonly handOver = (): void => {
    this.handing = false;
    const opened = this.opened;
    this.opened = this.spare;
    this.spare = opened;
    for (const socket of opened) if (!socket.destroyed) this.host.adoptStream(socket);
    opened.length = 0;
  };

  private controlFrame(session: Http2Session): void {
    const budget = this.controls.get(session);
    if (budget === undefined || spendReset(budget, CONTROL_LIMITS, Date.now())) return;
    // At once, as nghttp2 ends its own floods: a client that sends these faster than it reads would
    // not read a lingering GOAWAY either, and its writes keep coming until the socket is gone.
    this.controls.delete(session);
    if (session.destroyed) return;
    session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, session.state.lastProcStreamID ?? 0);
    session.destroy();
  }

  /**
   * Ends a flooding session: GOAWAY ENHANCE_YOUR_CALM, then the session is destroyed
   * CALM_LINGER_MS later. Not at once: closed under a client that is still writing, the socket is
   * reset and the client may drop the GOAWAY unread (1 run in 10 of the rapid-reset test with a
   * CPU-bound process beside it). Meanwhile nghttp2 opens no stream past the GOAWAY's last stream
   * id, and the session has no reset budget left (one GOAWAY).
   */
  private calm(session: Http2Session, lastStreamId: number): void {
    if (session.destroyed || !this.resets.delete(session)) return;
    session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, lastStreamId);
    setTimeout(() => {
      if (!session.destroyed) session.destroy();
    }, CALM_LINGER_MS).unref();
  }

  /**
   * Graceful close of every session (shutdown, upgrade): a GOAWAY naming the highest stream id
   * (no new stream after this), then, a round trip later, the real last stream id (what the client
   * opened in between is still served); open streams finish, then each session closes.
   */
  shutdown(): void {
    if (this.closing) return;
    this.closing = true;
    for (const session of this.sessions.keys()) {
      if (session.closed || session.destroyed) continue;
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, MAX_STREAM_ID);
    }
    const timer = setTimeout(() => {
      for (const session of this.sessions.keys()) if (!session.closed && !session.destroyed) session.close();
    }, GOAWAY_GAP_MS);
    timer.unref();
  }

  /** Cuts every session now. */
  destroyAll(): void {
    this.closing = true;
    for (const session of [...this.sessions.keys()]) session.destroy();
    this.server.close();
  }
}
