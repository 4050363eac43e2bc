import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** How long a closing admin connection keeps reading what its client still sends (as the data plane's close grace). */
export const LINGER_MS = 5000;

/**
 * Lingering close for the admin listener (SPEC "Admin API": early answers). When node's HTTP
 * server closes a connection after an answer (`Connection: close`, as an early 401 or 413 to a
 * request whose body is still arriving has), it destroys the socket as soon as the answer is
 * written; the client's unread bytes then make the kernel send a reset, which can reach the client
 * before it has read the answer (EPIPE or ECONNRESET instead of the status). As nginx's lingering
 * close: the write side ends (FIN after the answer), what still comes is read and discarded by the
 * HTTP parser, and the socket is destroyed when the client closes its side, or after `lingerMs`.
 */
export function lingerOnClose(server: Server, lingerMs = LINGER_MS): void {
  server.on('connection', (socket: Socket) => {
    socket.destroySoon = function lingeringClose(this: Socket): void {
      if (this.destroyed) return;
      if (this.writable) this.end();
      if (this.readableEnded) {
        destroyWhenWritten(this);
        return;
      }
      const timer = setTimeout(() => this.destroy(), lingerMs);
      timer.unref();
      this.once('end', () => destroyWhenWritten(this));
      this.once('close', () => clearTimeout(timer));
    };
  });
}

/** The client closed its side: destroy once the answer has left (node's own destroySoon). */
function destroyWhenWritten(socket: Socket): void {
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}
