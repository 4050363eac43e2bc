import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Server, Socket } from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config/index.js';

/**
 * The listening socket for `listen`: TCP, or TLS with ALPN `h2` then `http/1.1` (SPEC "HTTP/2 and
 * gRPC"; `http/1.1` alone with `listen.http2: false`). `onConnection` gets every accepted (and,
 * for TLS, handshaken) socket.
 */
export function createListener(listen: Config['listen'], onConnection: (socket: Socket) => void): Server {
  const files = listen.tls;
  let server: Server;
  if (files) {
    const alpn = listen.http2.enabled ? ['h2', 'http/1.1'] : ['http/1.1'];
    const secure = tls.createServer({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), allowHalfOpen: true, ALPNProtocols: alpn }, onConnection);
    // A failed handshake says nothing to answer; the socket is already gone.
    secure.on('tlsClientError', () => undefined);
    server = secure;
  } else {
    server = net.createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
  }
  if (listen.maxConnections > 0) server.maxConnections = listen.maxConnections;
  return server;
}

/** Listens on `target` (an address, or a listening socket's handle from another process) and says where. */
export function listenOn(server: Server, target: { readonly host: string; readonly port: number } | object): Promise<{ host: string; port: number }> {
  const asked = 'port' in target && 'host' in target ? (target as { host: string; port: number }) : { host: '', port: 0 };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      const a = server.address();
      resolve(a === null || typeof a === 'string' ? asked : { host: a.address, port: a.port });
    };
    if (target === asked) server.listen(asked.port, asked.host, done);
    else server.listen(target, done);
  });
}
