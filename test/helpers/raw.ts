import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { onTestFinished } from 'vitest';

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends `bytes` exactly as given on a fresh TCP connection and collects everything the server sends
 * until it closes the connection (send `Connection: close`). Rejects after `timeoutMs`.
 */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from 127.0.0.1:${port} within ${timeoutMs}ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err) => {
      // A reset after the answer is fine (the server closed with unread request bytes).
      if (chunks.length > 0) return;
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/** Parses one HTTP/1.1 response (status line, headers, the rest as the body, not de-chunked). */
export function parseRawResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const lines = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (m === null) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(m[1]), headers, body: text.slice(end + 4) };
}

export interface RawBackend {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A TCP server on 127.0.0.1:0 that hands every connection to `onConnection`: for backends that
 * misbehave at the byte level (cut headers, reset, never answer). Closed after the test.
 */
export async function startRawBackend(onConnection: (socket: Socket, index: number) => void): Promise<RawBackend> {
  const sockets = new Set<Socket>();
  let backend!: RawBackend;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // The proxy may reset a connection we are still writing to; that is the point of these backends.
    socket.on('error', () => undefined);
    onConnection(socket, backend.connections++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  backend = {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: 0,
    async close() {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  onTestFinished(() => backend.close());
  return backend;
}

/** Reads from `socket` until a blank line ends the request head; resolves with the head. */
export function readHead(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(buf.slice(0, end));
      }
    };
    const onClose = (): void => reject(new Error('closed before the request head ended'));
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
