import type { OnReadOpts, Socket } from 'node:net';
import { BufferReclaimer, RECLAIM_EVERY_BYTES } from './reclaim.js';

/**
 * Each upstream socket reads into a buffer of its own, reused read after read: no fresh buffer per
 * read, so no heap that glibc keeps giving back and taking again, page faults with it (issue 17).
 * 64 KiB (Node's own read size) and 8 KiB more for the head: a 64 KiB answer with its head then
 * comes in one read and leaves in one write (2 reads and 2 writes per request in all, not 3 and 3:
 * counted with strace). It costs this much per open upstream connection.
 */
export const READ_BUFFER_SIZE = 72 * 1024;

/** Where an owner relays a backend's bytes: the client's socket (a net.Socket, a TLSSocket, an HTTP/2 stream's). */
export interface RelaySink {
  /**
   * Bytes written to it and not yet taken by the kernel (or the HTTP/2 stream): a net.Socket's
   * `writableLength`, which drops to 0 synchronously when a write went out whole.
   */
  readonly writableLength: number;
}

/** What owns an upstream connection while a request uses it (the client connection, or a tunnel). */
export interface UpstreamOwner {
  onUpstreamConnect(conn: UpstreamConn): void;
  /**
   * `chunk` is a view of the connection's read buffer, valid until this returns: bytes kept past
   * it must be copied, except those written to the connection's `sink` (the next read then goes
   * into a new buffer while the sink still holds them).
   */
  onUpstreamData(conn: UpstreamConn, chunk: Buffer): void;
  onUpstreamDrain(conn: UpstreamConn): void;
  /** The socket closed (cleanly or not) while owned; `err` is the socket error, if any. */
  onUpstreamClose(conn: UpstreamConn, err: Error | undefined): void;
}

/** Opens the socket with the connection's `onread` (net.connect or tls.connect). */
export type UpstreamOpener = (onread: OnReadOpts) => Socket;

/** The backend a connection belongs to, as the connection sees it (the Upstream). */
export interface ConnHome {
  /** A closing connection leaves the idle stack. */
  forget(conn: UpstreamConn): void;
}

/**
 * Read buffers left to pending writes become garbage once written: counted like streamed body
 * bytes, so V8 collects them before tens of MiB pile up (see BufferReclaimer). One for the
 * process, made on first use.
 */
let lentBuffers: BufferReclaimer | undefined;

/**
 * One keep-alive connection to a backend. Its listeners are bound once and hand every event to
 * the current owner; an idle connection has none, and anything it receives ends it.
 *
 * Reads go into `buffer` (`onread`, plain and TLS sockets alike), not into a fresh Buffer per
 * read. After each read the owner has relayed the bytes; if the sink still holds some (a write
 * that did not reach the kernel whole keeps a reference to our bytes, and libuv writes from them
 * later), that buffer is the write's now and the next read goes into a new one. Otherwise the
 * same buffer takes the next read.
 */
export class UpstreamConn {
  readonly socket: Socket;
  readonly upstream: ConnHome;
  /** The drain generation it was opened in; a connection from before a drain is not reused. */
  readonly generation: number;
  owner: UpstreamOwner | null = null;
  /** Where the owner relays the backend's bytes (the client's socket): the read buffer is not reused while it holds some. */
  sink: RelaySink | null = null;
  connected = false;
  closed = false;
  /** When it went idle (performance.now() ms). */
  idleSince = 0;
  /** Reads since it opened that found the last buffer lent to a pending write (tests, diagnostics). */
  lentReads = 0;
  private error: Error | undefined;
  private buffer: Buffer = Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
  /** The last read's bytes are still queued on the owner's sink: the next read takes a new buffer. */
  private lent = false;

  /**
   * `streamed`: the socket the opener makes ignores `onread` and hands its bytes over as 'data'
   * events (an HTTP/2 stream to an h2 backend: its chunks are its own, nothing is reused).
   */
  constructor(upstream: ConnHome, generation: number, secure: boolean, open: UpstreamOpener, streamed = false) {
    this.upstream = upstream;
    this.generation = generation;
    const socket = open({ buffer: this.nextBuffer, callback: this.onRead });
    this.socket = socket;
    socket.on(secure ? 'secureConnect' : 'connect', this.onConnect);
    if (streamed) socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private readonly onConnect = (): void => {
    this.connected = true;
    this.socket.setNoDelay(true);
    this.owner?.onUpstreamConnect(this);
  };

  /** `onread` callback: `nread` bytes arrived in `this.buffer`. */
  private readonly onRead = (nread: number): boolean => {
    const owner = this.owner;
    if (owner === null) {
      this.socket.destroy(); // bytes nobody asked for: the connection's framing is lost
      return false;
    }
    // Taken before the owner runs: the answer may end in this call and the connection go back to
    // the pool (or to another client); what counts is the sink these bytes were written to.
    const sink = this.sink;
    owner.onUpstreamData(this, this.buffer.subarray(0, nread));
    if (sink !== null && sink.writableLength > 0) {
      this.lent = true;
      this.lentReads++;
      (lentBuffers ??= new BufferReclaimer(RECLAIM_EVERY_BYTES)).add(READ_BUFFER_SIZE);
    }
    return true;
  };

  /** A streamed socket's chunk (see the constructor). */
  private readonly onData = (chunk: Buffer): void => {
    const owner = this.owner;
    if (owner === null) this.socket.destroy();
    else owner.onUpstreamData(this, chunk);
  };

  /** `onread` buffer, asked for when the socket opens and after every read: where the next read goes. */
  private readonly nextBuffer = (): Buffer => {
    if (this.lent) {
      this.lent = false;
      this.buffer = Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
    }
    return this.buffer;
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
