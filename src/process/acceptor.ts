import type { WorkerChild } from './child.js';

/** Where a listener is bound. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * How client connections reach the workers. Two ways, chosen once at start:
 * `reuseport`: one listening socket per worker slot (SO_REUSEPORT), each handed to its worker,
 * which accepts on it directly; `handoff`: the supervisor accepts and hands every connection over.
 */
export interface Acceptor {
  readonly kind: 'reuseport' | 'handoff';
  /** The listening socket a worker in `slot` accepts on itself (reuseport), sent with its `init`. */
  handleFor(slot: number): object | undefined;
  /** Binds the listener(s). */
  listen(host: string, port: number): Promise<ListenAddress>;
  /** A worker is ready: from now on it gets connections. */
  serve(w: WorkerChild): void;
  /** A worker exited (what it had not taken yet goes to the others). */
  lost(w: WorkerChild): void;
  /** Listens on a new address: bound first, then the old listener closes (open connections stay). */
  rebind(host: string, port: number): Promise<ListenAddress>;
  /** Stops taking new connections (waits at most about a second). */
  close(): Promise<void>;
}

/** Binds a net.Server and says where. */
export function bindServer(server: import('node:net').Server, host: string, port: number): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(a === null || typeof a === 'string' ? { host, port } : { host: a.address, port: a.port });
    });
  });
}
