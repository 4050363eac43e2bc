import net from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { bindServer } from './acceptor.js';
import type { Acceptor, ListenAddress } from './acceptor.js';
import type { WorkerChild } from './child.js';

/** Accepted connections kept while no worker can take them (a crash, a slow start). */
const MAX_PENDING = 4096;

/**
 * The fallback acceptor (no SO_REUSEPORT: Node < 22.12 or not Linux): the supervisor owns the
 * listening socket and hands each accepted connection to the serving worker with the fewest open
 * connections, over IPC. Costs supervisor CPU per connection (docs/operations.md).
 */
export class HandoffAcceptor implements Acceptor {
  readonly kind = 'handoff';
  private listener: Server | undefined;
  private readonly pending: Socket[] = [];
  private turn = 0;
  private closed = false;

  constructor(
    private readonly workers: () => Iterable<WorkerChild>,
    private readonly logger: Logger,
  ) {}

  listen(host: string, port: number): Promise<ListenAddress> {
    this.listener = this.makeListener();
    return bindServer(this.listener, host, port);
  }

  handleFor(_slot: number): undefined {
    return undefined;
  }

  serve(_w: WorkerChild): void {
    for (const s of this.pending.splice(0)) if (!s.destroyed) this.dispatch(s);
  }

  lost(w: WorkerChild): void {
    // Connections sent that it never received: unread, they go to another worker.
    for (const s of w.takeUnreceived()) this.dispatch(s);
  }

  async rebind(host: string, port: number): Promise<ListenAddress> {
    const next = this.makeListener();
    const addr = await bindServer(next, host, port);
    const old = this.listener;
    this.listener = next;
    old?.close();
    return addr;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.pending.splice(0)) s.destroy();
    const l = this.listener;
    if (l === undefined) return;
    await Promise.race([new Promise<void>((resolve) => l.close(() => resolve())), new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  private makeListener(): Server {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => this.dispatch(socket));
    server.on('error', (err) => this.logger.error({ err: err.message }, 'listener error'));
    return server;
  }

  /**
   * To the serving worker with the fewest open connections (ties in turn); kept while none
   * serves. Least-open rather than plain round robin: a worker that replaced a dead one, or a
   * new one after an upgrade, catches up instead of staying behind for good.
   */
  private dispatch(socket: Socket): void {
    let best: WorkerChild | undefined;
    let bestOpen = Infinity;
    const all = [...this.workers()];
    const start = this.turn++ % Math.max(1, all.length);
    for (let i = 0; i < all.length; i++) {
      const w = all[(start + i) % all.length] as WorkerChild;
      if (w.state !== 'serving' || w.exited) continue;
      const open = w.open;
      if (open < bestOpen) {
        best = w;
        bestOpen = open;
      }
    }
    if (best === undefined) {
      if (this.pending.length < MAX_PENDING && !this.closed) this.pending.push(socket);
      else socket.destroy();
      return;
    }
    best.handOver(socket, () => {
      if (!socket.destroyed) this.dispatch(socket);
    });
  }
}
