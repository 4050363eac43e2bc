// The fairest bare equivalent of turnout's data plane: node:http server in front, one undici Pool per
// backend (same options as turnout's upstreams: unlimited connections, pipelining 1, 4 s keep-alive),
// round robin, `pool.dispatch` with a callback handler that streams the response body to the client
// with backpressure. It strips hop-by-hop headers and appends X-Forwarded-For like a real proxy, and
// does nothing else: no routing table, no split, no metrics, no retries, no in-flight accounting.
//
//   node bench/bare-undici.mjs --port 8082 --backends http://127.0.0.1:3001,http://127.0.0.1:3002
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8082' },
    host: { type: 'string', default: '127.0.0.1' },
    backends: { type: 'string', default: 'http://127.0.0.1:3001' },
  },
});

const pools = values.backends.split(',').map(
  (url) =>
    new Pool(url, {
      connections: null,
      pipelining: 1,
      keepAliveTimeout: 4000,
      keepAliveMaxTimeout: 4000,
      headersTimeout: 0,
      bodyTimeout: 0,
    }),
);
const origins = values.backends.split(',').map((u) => new URL(u).origin);

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

function requestHeaders(req) {
  const raw = req.rawHeaders;
  const out = [];
  let xff;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (HOP.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      xff = raw[i + 1];
      continue;
    }
    out.push(raw[i], raw[i + 1]);
  }
  const remote = req.socket.remoteAddress ?? '';
  out.push('x-forwarded-for', xff === undefined ? remote : `${xff}, ${remote}`);
  return out;
}

function responseHeaders(raw) {
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    if (HOP.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1].toString('latin1'));
  }
  return out;
}

class Handler {
  constructor(req, res) {
    this.req = req;
    this.res = res;
    this.abort = undefined;
    this.resume = undefined;
    this.onDrain = () => this.resume?.();
    res.on('close', () => {
      if (!res.writableFinished) this.abort?.(new Error('client closed'));
    });
  }
  onConnect(abort) {
    this.abort = abort;
  }
  onHeaders(status, rawHeaders, resume) {
    if (status < 200) return true;
    this.resume = resume;
    this.res.writeHead(status, responseHeaders(rawHeaders));
    return true;
  }
  onData(chunk) {
    const ok = this.res.write(chunk);
    if (!ok) this.res.once('drain', this.onDrain);
    return ok;
  }
  onComplete() {
    this.res.end();
  }
  onError(err) {
    if (!this.res.headersSent) {
      this.res.writeHead(502, { 'content-type': 'text/plain' });
      this.res.end(`bad gateway: ${err.code ?? err.message}`);
    } else {
      this.res.destroy();
    }
  }
}

let next = 0;
const server = http.createServer({ keepAliveTimeout: 65_000, noDelay: true }, (req, res) => {
  const i = next;
  next = (next + 1) % pools.length;
  const cl = req.headers['content-length'];
  const hasBody = (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
  pools[i].dispatch(
    {
      origin: origins[i],
      path: req.url,
      method: req.method,
      headers: requestHeaders(req),
      body: hasBody ? req : null,
      blocking: false,
      reset: false,
    },
    new Handler(req, res),
  );
});
server.listen(Number(values.port), values.host, () => {
  process.stdout.write(`bare-undici on http://${values.host}:${server.address().port} → ${values.backends}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
