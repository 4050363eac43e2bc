import type { Server } from 'node:net';

/** How long the listener keeps accepting with its backlog at 0 before it closes (what was queued is taken). */
const SETTLE_MS = 20;

/**
 * Closes a listening socket this process is the last to hold (an orphan's: no supervisor keeps a
 * copy) so as to reset as few connections as can be. The kernel resets what is queued on a
 * listening socket when it closes (net.ipv4.tcp_migrate_req is off by default), and in a
 * SO_REUSEPORT group it goes on choosing this socket for new connections until then. So first its
 * backlog goes to 0: one connection at most waits in it, the kernel drops new SYNs while one does
 * (the client sends its SYN again a second later, and then a socket of the group that is still
 * open gets it); what was queued is accepted meanwhile. Then it closes right after it accepted a
 * connection (the queue is empty then), or once none came for `quietMs`.
 */
export function closeGently(server: Server, quietMs = 100): Promise<void> {
  if (!server.listening) return Promise.resolve();
  const handle = (server as unknown as { _handle?: { listen?: (backlog: number) => number } })._handle;
  handle?.listen?.(0);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const close = (): void => {
      clearTimeout(timer);
      server.off('connection', close);
      // Its 'close' waits for every connection it accepted: those are the drain's to end.
      if (server.listening) server.close();
      resolve();
    };
    setTimeout(() => {
      timer = setTimeout(close, quietMs);
      // Synchronously, in the accept's own callback: nothing can have been queued since.
      server.on('connection', close);
    }, SETTLE_MS);
  });
}
