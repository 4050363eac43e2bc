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
