import type { FastifyInstance } from 'fastify';
import { trafficSnapshot } from '../telemetry/index.js';
import type { RouteOptions } from './route-options.js';

/**
 * `GET /v1/stream`: Server-Sent Events, one `snapshot` event per second with the traffic per
 * service, pool and backend. A comment line every 15 s keeps idle proxies from closing it.
 * (Token required like every /v1 call; browsers use fetch with the Authorization header.)
 */
export async function streamRoute(app: FastifyInstance, { runtime, telemetry, streamIntervalMs = 1000 }: RouteOptions): Promise<void> {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of open) close();
  });
  app.get('/v1/stream', { schema: { summary: 'Server-Sent Events: a traffic snapshot per second' } }, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let id = 0;
    const send = (): void => {
      const snap = trafficSnapshot(runtime, telemetry, Date.now());
      res.write(`id: ${++id}\nevent: snapshot\ndata: ${JSON.stringify(snap)}\n\n`);
    };
    res.write('retry: 2000\n\n');
    send();
    const timer = setInterval(send, streamIntervalMs);
    const ping = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const close = (): void => {
      clearInterval(timer);
      clearInterval(ping);
      open.delete(close);
      if (!res.writableEnded) res.end();
    };
    open.add(close);
    req.raw.on('close', close);
  });
}
