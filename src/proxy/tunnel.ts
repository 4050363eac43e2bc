import type { Socket } from 'node:net';
import type { EngineContext } from './context.js';
import { WS_GOING_AWAY } from './upstream.js';
import type { Upstream, UpstreamConn, UpstreamOwner, UpgradedConnection } from './upstream.js';

/** How long a WebSocket client has to answer our close frame before its socket is cut. */
const CLOSE_FRAME_GRACE_MS = 1000;

/**
 * An upgraded connection (WebSocket): after the backend's 101 the two sockets are joined, with
 * backpressure both ways. It stays in flight on its backend until either side closes, or a drain
 * deadline closes it (a WebSocket client first gets a close frame 1001, going away).
 */
export class Tunnel implements UpstreamOwner, UpgradedConnection {
  private readonly ctx: EngineContext;
  private readonly client: Socket;
  private readonly conn: UpstreamConn;
  private readonly up: Upstream;
  private readonly websocket: boolean;
  private ended = false;

  constructor(ctx: EngineContext, client: Socket, conn: UpstreamConn, up: Upstream, websocket: boolean) {
    this.ctx = ctx;
    this.client = client;
    this.conn = conn;
    this.up = up;
    this.websocket = websocket;
  }

  /** Sends the 101 (and any bytes after it) to the client and the client's read-ahead to the backend. */
  open(head101: Buffer, pending: Buffer | undefined): void {
    this.conn.owner = this;
    this.conn.sink = this.client;
    this.up.upgrades.add(this);
    this.ctx.upgradeStarted(this);
    const client = this.client;
    client.on('data', this.onClientData);
    client.on('drain', this.onClientDrain);
    client.on('close', this.onClientClose);
    client.on('end', this.onClientEnd);
    client.write(head101);
    if (pending !== undefined && pending.length > 0) this.conn.socket.write(pending);
    if (client.destroyed) this.finish();
  }

  private readonly onClientData = (chunk: Buffer): void => {
    this.ctx.reclaimer.add(chunk.length); // a fresh Buffer per client read
    if (!this.conn.socket.write(chunk)) this.client.pause();
  };

  private readonly onClientDrain = (): void => {
    this.conn.socket.resume();
  };

  private readonly onClientEnd = (): void => {
    this.conn.socket.end();
  };

  private readonly onClientClose = (): void => {
    this.conn.owner = null;
    this.conn.destroy();
    this.finish();
  };

  onUpstreamConnect(): void {
    // Already connected: the 101 came over this socket.
  }

  onUpstreamData(_c: UpstreamConn, chunk: Buffer): void {
    if (!this.client.write(chunk)) this.conn.socket.pause();
  }

  onUpstreamDrain(): void {
    this.client.resume();
  }

  onUpstreamClose(): void {
    this.client.end();
    // The client may never close its side: do not keep the socket forever.
    setTimeout(() => this.client.destroy(), CLOSE_FRAME_GRACE_MS).unref();
    this.finish();
  }

  /** Drain deadline or shutdown: the backend side is cut, the client told politely when it speaks WebSocket. */
  close(): void {
    this.conn.owner = null;
    this.conn.destroy();
    const client = this.client;
    if (this.websocket && client.writable) {
      client.end(WS_GOING_AWAY);
      setTimeout(() => client.destroy(), CLOSE_FRAME_GRACE_MS).unref();
    } else {
      client.destroy();
    }
    this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.up.upgrades.delete(this);
    this.ctx.upgradeDone(this);
    this.up.end();
  }
}
