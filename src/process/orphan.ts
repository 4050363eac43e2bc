import type { Server } from 'node:net';

/**
 * Closes a listening socket this process is the last to hold (an orphan's: no supervisor keeps a
 * copy) so as to reset as few queued connections as can be: the kernel resets what is queued on a
 * listening socket when it closes (net.ipv4.tcp_migrate_req is off by default). It closes right
 * after a round of accepts emptied the queue (the check phase after the connection that came
 * next), or once no connection came for `quietMs`.
 */
export function closeGently(server: Server, quietMs = 100): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    let done = false;
    const close = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      server.off('connection', onConnection);
      // Its 'close' waits for every connection it accepted: those are the drain's to end.
      server.close();
      resolve();
    };
    const onConnection = (): void => {
      setImmediate(close);
    };
    const timer = setTimeout(close, quietMs);
    server.on('connection', onConnection);
  });
}
