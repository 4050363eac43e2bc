import http from 'node:http';
import type { Server } from 'node:http';

/**
 * A tiny app server for the demo and tests: answers every path with its name and version as JSON,
 * `/health/ready` with 200, and `/slow?ms=N` after N ms.
 */
export function createAppServer(name: string, version: string): Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const answer = (): void => {
      const body = JSON.stringify({ app: name, version, path: url.pathname });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url.pathname === '/health/ready') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (url.pathname === '/slow') {
      const ms = Math.min(60_000, Number(url.searchParams.get('ms') ?? '1000') || 0);
      setTimeout(answer, ms);
      return;
    }
    req.resume();
    req.on('end', answer);
  });
}
