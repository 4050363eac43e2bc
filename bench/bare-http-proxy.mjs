// The smallest useful reverse proxy on http-proxy: round robin over the backends, keep-alive agent.
// A reference point for what a plain Node proxy does on this machine.
//
//   node bench/bare-http-proxy.mjs --port 8081 --backends http://127.0.0.1:3001,http://127.0.0.1:3002
import http from 'node:http';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8081' },
    host: { type: 'string', default: '127.0.0.1' },
    backends: { type: 'string', default: 'http://127.0.0.1:3001' },
  },
});

const targets = values.backends.split(',');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, keepAliveMsecs: 1000, scheduling: 'lifo' });
const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
proxy.on('error', (_err, _req, res) => {
  if (res && typeof res.writeHead === 'function' && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway');
  } else {
    res?.destroy?.();
  }
});

let next = 0;
const server = http.createServer({ keepAliveTimeout: 65_000, noDelay: true }, (req, res) => {
  const target = targets[next];
  next = (next + 1) % targets.length;
  proxy.web(req, res, { target });
});
server.listen(Number(values.port), values.host, () => {
  process.stdout.write(`bare-http-proxy on http://${values.host}:${server.address().port} → ${targets.join(', ')}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
