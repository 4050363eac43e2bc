// The floor of bench:h2 (bench code only): a bare node:http2 server (h2c, prior knowledge) that
// forwards each stream to an HTTP/1.1 backend over a keep-alive agent and pipes the answer back.
// No routing, no limits, no telemetry: what node:http2 plus node:http cost with nothing else.
// `--h2-backend`: instead, an h2c backend answering every stream with `--size` bytes (for
// turnout's h2 upstream row).
//
//   node bench/h2-relay.mjs --port 8080 --backend http://127.0.0.1:3001
//   node bench/h2-relay.mjs --port 3002 --h2-backend --size 1024
import http from 'node:http';
import http2 from 'node:http2';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    backend: { type: 'string', default: 'http://127.0.0.1:3001' },
    'h2-backend': { type: 'boolean', default: false },
    size: { type: 'string', default: '1024' },
  },
});
const settings = { maxConcurrentStreams: 100, initialWindowSize: 65535 };
// A normal exit on SIGTERM, so --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));

if (values['h2-backend']) {
  const body = Buffer.alloc(Number(values.size), 'x');
  const server = http2.createServer({ settings });
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': body.length });
    stream.end(body);
  });
  server.listen(Number(values.port), '127.0.0.1');
} else {
  const target = new URL(values.backend);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
  const server = http2.createServer({ settings });
  server.on('stream', (stream, headers) => {
    const out = {};
    for (const [k, v] of Object.entries(headers)) if (k[0] !== ':') out[k] = v;
    out.host = headers[':authority'] ?? target.host;
    const req = http.request(
      { agent, host: target.hostname, port: target.port, method: headers[':method'], path: headers[':path'], headers: out },
      (res) => {
        const h = { ':status': res.statusCode };
        for (const [k, v] of Object.entries(res.headers)) if (k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') h[k] = v;
        stream.respond(h);
        res.pipe(stream);
      },
    );
    req.on('error', () => {
      if (!stream.headersSent) stream.respond({ ':status': 502 });
      stream.end();
    });
    stream.on('error', () => req.destroy());
    stream.pipe(req);
  });
  server.listen(Number(values.port), '127.0.0.1');
}
