// A small app server for the benchmarks: answers every path (GET or otherwise) with 200 and a fixed
// body of `--size` bytes, keep-alive on. One process can listen on several ports (`--ports a,b`),
// so a proxy with two backends does not get a second backend process competing for the 2 cores.
//
//   node bench/backend.mjs --ports 3001[,3002] --size 1024
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    ports: { type: 'string', default: '3001' },
    size: { type: 'string', default: '1024' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const size = Number(values.size);
if (!Number.isInteger(size) || size < 0) {
  process.stderr.write(`backend: --size must be a byte count, got ${values.size}\n`);
  process.exit(2);
}
const body = Buffer.alloc(size, 'x');
const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };

// Counters, printed as one "stats ..." line on SIGUSR2 (the health bench reads them).
let connections = 0;
let requests = 0;
process.on('SIGUSR2', () => process.stdout.write(`stats connections=${connections} requests=${requests}\n`));

function handler(req, res) {
  requests++;
  // Drain any request body, then answer.
  if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) req.resume();
  res.writeHead(200, headers);
  res.end(body);
}

for (const p of values.ports.split(',')) {
  const server = http.createServer({ keepAliveTimeout: 65_000, noDelay: true }, handler);
  server.headersTimeout = 66_000;
  server.on('connection', () => connections++);
  server.listen(Number(p), values.host, () => {
    process.stdout.write(`backend listening on http://${values.host}:${server.address().port} size ${size}\n`);
  });
}

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
