// The Node floor: the least work a Node process can do to forward this bench's HTTP/1.1 traffic, on
// raw `net` sockets. Bench code only, not a proxy anyone should run: it does not parse or rewrite
// headers, it only frames messages so that keep-alive works on both sides.
//
//   node bench/floor.mjs --port 8083 --backends http://127.0.0.1:3001[,http://127.0.0.1:3002]
//
// - Request: the head ends at the first "\r\n\r\n" (Buffer#indexOf); the bytes up to there go to
//   the upstream unchanged. Requests are assumed to have no body (autocannon's GETs, the bench's
//   sanity fetch). Pipelined requests wait in a buffer until the response before them is done.
// - Upstream: round robin over --backends; per backend a small LIFO pool of idle keep-alive
//   connections (a request takes one, or opens one; the connection goes back when the response
//   ends; at most POOL_IDLE idle ones are kept).
// - Response: the head ends at the first "\r\n\r\n"; its Content-Length is found with a
//   case-insensitive search of the head; then the bytes are passed through to the client (the
//   upstream's own Buffers, no copy) until that many body bytes went by. A response without
//   Content-Length (chunked, close-delimited) is not supported: the client connection is closed.
// - Backpressure: a client that does not read pauses its upstream connection, and the reverse.
//
// turnout/floor in bench/run.mjs is therefore what turnout costs on top of Node's own socket I/O.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8083' },
    host: { type: 'string', default: '127.0.0.1' },
    backends: { type: 'string', default: 'http://127.0.0.1:3001' },
  },
});

const POOL_IDLE = 64; // idle upstream connections kept per backend (nginx bench config: keepalive 64)
const MAX_HEAD = 64 * 1024; // a request or response head larger than this closes the connection
const CRLFCRLF = Buffer.from('\r\n\r\n');
const BAD_GATEWAY = Buffer.from('HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: 12\r\nconnection: close\r\n\r\nbad gateway\n');

const backends = values.backends.split(',').map((u) => {
  const url = new URL(u);
  return { host: url.hostname, port: Number(url.port || 80), idle: [] };
});

/** Content-Length of a response head (latin1 text), or -1 when it has none. */
function contentLength(headText) {
  const lower = headText.toLowerCase();
  const at = lower.indexOf('\r\ncontent-length:');
  if (at === -1) return -1;
  let i = at + 17;
  while (lower.charCodeAt(i) === 32 || lower.charCodeAt(i) === 9) i++;
  let n = 0;
  let digits = 0;
  for (let c = lower.charCodeAt(i); c >= 48 && c <= 57; c = lower.charCodeAt(++i)) {
    n = n * 10 + (c - 48);
    digits++;
  }
  return digits === 0 ? -1 : n;
}

/** One upstream keep-alive connection; `session` is the client it currently answers. */
class Upstream {
  constructor(backend) {
    this.backend = backend;
    this.session = null;
    this.head = null; // response head bytes so far, when the head spans chunks
    this.inHead = true;
    this.remaining = 0; // body bytes still to pass through
    this.sock = net.connect({ host: backend.host, port: backend.port, noDelay: true });
    this.sock.on('data', (chunk) => this.onData(chunk));
    this.sock.on('drain', () => this.session?.sock.resume());
    this.sock.on('error', () => undefined); // 'close' follows
    this.sock.on('close', () => this.onClose());
  }

  onData(chunk) {
    const s = this.session;
    if (s === null) {
      // Bytes nobody asked for: the connection is out of step; drop it.
      this.sock.destroy();
      return;
    }
    if (this.inHead) {
      const buf = this.head === null ? chunk : Buffer.concat([this.head, chunk]);
      const end = buf.indexOf(CRLFCRLF);
      if (end === -1) {
        if (buf.length > MAX_HEAD) return this.fail();
        this.head = buf;
        return;
      }
      const bodyStart = end + 4;
      const cl = contentLength(buf.toString('latin1', 0, bodyStart));
      if (cl === -1) return this.fail();
      this.head = null;
      this.inHead = false;
      this.remaining = cl;
      this.forward(buf, bodyStart);
      return;
    }
    this.forward(chunk, 0);
  }

  /** Writes `buf` (whose body bytes start at `from`) to the client, up to the response's end. */
  forward(buf, from) {
    const s = this.session;
    const body = buf.length - from;
    let out = buf;
    if (body >= this.remaining) {
      if (body > this.remaining) out = buf.subarray(0, from + this.remaining); // cannot happen with one request in flight
      this.remaining = 0;
    } else {
      this.remaining -= body;
    }
    const ok = s.sock.write(out);
    if (this.remaining === 0) {
      // Response done: the connection goes back to the pool, the client may send the next request.
      this.inHead = true;
      this.session = null;
      s.up = null;
      release(this);
      s.next();
    } else if (!ok) {
      this.sock.pause(); // the client's 'drain' resumes it
    }
  }

  fail() {
    const s = this.session;
    this.session = null;
    this.sock.destroy();
    if (s !== null) s.sock.destroy();
  }

  onClose() {
    const idle = this.backend.idle;
    const i = idle.indexOf(this);
    if (i !== -1) idle.splice(i, 1);
    const s = this.session;
    if (s === null) return;
    this.session = null;
    // Closed before a response byte came back: answer 502; mid-response: cut the client.
    if (this.inHead && this.head === null) s.sock.end(BAD_GATEWAY);
    else s.sock.destroy();
  }
}

function release(up) {
  const idle = up.backend.idle;
  if (idle.length < POOL_IDLE && !up.sock.destroyed) idle.push(up);
  else up.sock.destroy();
}

let rr = 0;
function acquire() {
  const backend = backends[rr];
  rr = rr + 1 === backends.length ? 0 : rr + 1;
  return backend.idle.pop() ?? new Upstream(backend);
}

/** One client connection. */
class Session {
  constructor(sock) {
    this.sock = sock;
    this.up = null; // the upstream answering the request in flight, if any
    this.pending = null; // received bytes not forwarded yet (a partial head, or pipelined requests)
    sock.on('data', (chunk) => this.onData(chunk));
    sock.on('drain', () => this.up?.sock.resume());
    sock.on('error', () => undefined);
    sock.on('close', () => {
      // A client gone mid-response leaves its upstream out of step: close that one too.
      if (this.up !== null) {
        this.up.session = null;
        this.up.sock.destroy();
        this.up = null;
      }
    });
  }

  onData(chunk) {
    this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.up === null) this.next();
    else if (this.pending.length > MAX_HEAD) this.sock.destroy();
  }

  /** Forwards the next complete request head in `pending`, if there is one. */
  next() {
    const buf = this.pending;
    if (buf === null || this.sock.destroyed) return;
    const end = buf.indexOf(CRLFCRLF);
    if (end === -1) {
      if (buf.length > MAX_HEAD) this.sock.destroy();
      return;
    }
    const headEnd = end + 4;
    this.pending = headEnd === buf.length ? null : buf.subarray(headEnd);
    const up = acquire();
    up.session = this;
    this.up = up;
    if (!up.sock.write(headEnd === buf.length ? buf : buf.subarray(0, headEnd))) this.sock.pause();
  }
}

const server = net.createServer({ noDelay: true }, (sock) => new Session(sock));
server.listen(Number(values.port), values.host, () => {
  process.stdout.write(`floor on http://${values.host}:${server.address().port} → ${values.backends}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
