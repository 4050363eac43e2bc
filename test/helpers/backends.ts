import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

export interface TestBackend {
  readonly id: string;
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Requests this backend received (every path but the health check). */
  hits: number;
  /** Status the health check path answers (mutable). */
  healthStatus: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, backend: TestBackend) => void;

/** Default app: answers `{"backend": id}`; `/slow?ms=N` answers after N ms; `/health` answers `healthStatus`. */
export const defaultHandler: Handler = (req, res, b) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (): void => {
    const body = JSON.stringify({ backend: b.id, path: url.pathname, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': b.id });
    res.end(body);
  };
  if (url.pathname === '/slow') {
    const t = setTimeout(send, Number(url.searchParams.get('ms') ?? '1000'));
    res.on('close', () => clearTimeout(t));
    return;
  }
  req.resume();
  req.on('end', send);
};

/** A real HTTP backend on 127.0.0.1:0, closed after the test. */
export async function startBackend(id: string, handler: Handler = defaultHandler, opts: { keepCleanup?: boolean } = {}): Promise<TestBackend> {
  let backend!: TestBackend;
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(backend.healthStatus, { 'content-type': 'text/plain' });
      res.end('health');
      return;
    }
    backend.hits++;
    handler(req, res, backend);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  backend = {
    id,
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    hits: 0,
    healthStatus: 200,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  if (opts.keepCleanup !== false) onTestFinished(() => backend.close());
  return backend;
}

/** A free port that nothing listens on (for "refused" backends). */
export async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
