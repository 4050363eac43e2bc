import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { Logger } from 'pino';
import type { Acceptor, ListenAddress } from './acceptor.js';
import type { WorkerChild } from './child.js';

/**
 * A TCP listening handle as node:net makes it (an internal object: bound, listening once a worker
 * calls `server.listen(handle)`). It travels to a worker as the handle of an IPC message.
 */
export interface ServerHandle {
  getsockname(out: { address?: string; port?: number }): number;
  close(): void;
  listen?(backlog: number): number;
}

type CreateHandle = (address: string, port: number, addressType: number, fd: number | undefined, flags: number) => ServerHandle | number;

/** libuv's UV_TCP_REUSEPORT flag (Node >= 22.12). */
const REUSEPORT = 2;

const createHandle = (): CreateHandle | undefined => {
  const f = (net as unknown as { _createServerHandle?: unknown })._createServerHandle;
  return typeof f === 'function' ? (f as CreateHandle) : undefined;
};

/**
 * Whether this runtime binds several listening sockets to one port (SO_REUSEPORT through
 * node:net's handle maker): tried once, on 127.0.0.1, with two sockets that both listen. Node 20
 * binds both but the second cannot listen (EADDRINUSE): no.
 */
export function reusePortAvailable(): boolean {
  const make = createHandle();
  if (make === undefined || process.platform !== 'linux') return false;
  const made: ServerHandle[] = [];
  try {
    const a = make('127.0.0.1', 0, 4, undefined, REUSEPORT);
    if (typeof a === 'number') return false;
    made.push(a);
    const out: { port?: number } = {};
    if (a.getsockname(out) !== 0 || out.port === undefined) return false;
    const b = make('127.0.0.1', out.port, 4, undefined, REUSEPORT);
    if (typeof b === 'number') return false;
    made.push(b);
    return a.listen?.(1) === 0 && b.listen?.(1) === 0;
  } catch {
    return false;
  } finally {
    for (const h of made) h.close();
  }
}

/** Binds `count` SO_REUSEPORT sockets on one address (port 0: the first one's port for all). */
export async function bindReusePort(host: string, port: number, count: number): Promise<{ readonly handles: ServerHandle[]; readonly address: ListenAddress }> {
  const make = createHandle();
  if (make === undefined) throw new Error('this runtime cannot bind SO_REUSEPORT sockets');
  const ip = net.isIP(host) !== 0 ? host : (await lookup(host)).address;
  const family = net.isIPv6(ip) ? 6 : 4;
  const handles: ServerHandle[] = [];
  let bound = port;
  for (let i = 0; i < count; i++) {
    const h = make(ip, bound, family, undefined, REUSEPORT);
    if (typeof h === 'number') {
      for (const x of handles) x.close();
      throw Object.assign(new Error(`listen ${errName(h)}: ${host}:${bound}`), { code: errName(h) });
    }
    handles.push(h);
    const out: { port?: number } = {};
    h.getsockname(out);
    bound = out.port ?? bound;
  }
  return { handles, address: { host: ip, port: bound } };
}

const errName = (n: number): string => {
  try {
    return getSystemErrorName(n);
  } catch {
    return `errno ${n}`;
  }
};

/**
 * A listening socket per worker slot (SO_REUSEPORT): each worker listens on its slot's socket and
 * accepts on it itself, so no connection passes through the supervisor. The supervisor keeps its
 * copy of every socket: a worker that dies leaves its queue in the kernel, and its replacement (or
 * an upgrade's new worker, in the same slot) listens on the same socket and takes it over.
 */
export class ReusePortAcceptor implements Acceptor {
  readonly kind = 'reuseport';
  private handles: ServerHandle[] = [];

  constructor(
    private readonly slots: number,
    private readonly workers: () => Iterable<WorkerChild>,
    private readonly logger: Logger,
  ) {}

  /** Binds the slots' sockets (unless sockets came from another supervisor: `adopt`). */
  async listen(host: string, port: number): Promise<ListenAddress> {
    if (this.handles.length > 0) return this.address();
    this.handles = (await bindReusePort(host, port, this.slots)).handles;
    return this.address();
  }

  /** Sockets handed over by the supervisor this one replaces (`turnout upgrade --supervisor`). */
  adopt(handles: readonly ServerHandle[]): void {
    this.handles = [...handles];
  }

  /** The sockets to hand to the next supervisor. */
  get all(): readonly ServerHandle[] {
    return this.handles;
  }

  /** The socket a worker in `slot` listens on. */
  handleFor(slot: number): ServerHandle | undefined {
    return this.handles.length === 0 ? undefined : this.handles[slot % this.handles.length];
  }

  serve(_w: WorkerChild): void {
    // It listens on its slot's socket itself (sent with its `init`).
  }

  lost(_w: WorkerChild): void {
    // Its socket stays open here: what is queued on it waits for the replacement.
  }

  async rebind(host: string, port: number): Promise<ListenAddress> {
    const { handles, address } = await bindReusePort(host, port, this.slots);
    const old = this.handles;
    this.handles = handles;
    const moved = [...this.workers()].filter((w) => !w.exited && w.state !== 'draining').map((w) => w.listenOn(this.handleFor(w.slot) as ServerHandle));
    const done = await Promise.all(moved);
    if (done.some((ok) => !ok)) this.logger.warn('a worker did not move to the new listener within 2s');
    for (const h of old) h.close();
    return address;
  }

  async close(): Promise<void> {
    for (const h of this.handles.splice(0)) h.close();
  }

  private address(): ListenAddress {
    const out: { address?: string; port?: number } = {};
    this.handles[0]?.getsockname(out);
    return { host: out.address ?? '', port: out.port ?? 0 };
  }
}
