// The load generator as a process of its own, so that bench/workers.mjs can pin it to a core
// (`taskset -c 0 node bench/loadgen.mjs …`) and measure its CPU apart from the bench's. Prints
// one JSON line with the figures bench/lib.mjs `summarize` keeps, plus this process's CPU time.
//
//   node bench/loadgen.mjs --url http://127.0.0.1:8080/ --mode keepalive --connections 50 --duration 5
//   node bench/loadgen.mjs --url http://127.0.0.1:8080/ --mode close --connections 20 --duration 5 --max 50000 --size 1024
//
// Modes:
//  keepalive  autocannon, pipelining 1, keep-alive connections (as bench/run.mjs runs it), at most
//             `max` requests.
//  close      a new TCP connection per request: `connections` loops, each connects, sends
//             `GET / HTTP/1.1` with `Connection: close`, reads until the server closes, checks the
//             status line is 200 and at least `size` body bytes came, and starts over. Bounded by
//             `duration` and by `max` requests in all. autocannon is not used here: with
//             `Connection: close` its latency figures are not per request (p50 ≈ 500 ms at
//             thousands of req/s), so this loop times each connect → close itself.
import net from 'node:net';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { summarize } from './lib.mjs';

export async function keepAliveLoad({ url, connections, durationS, max }) {
  const r = await new Promise((resolve, reject) => {
    // Bounded by time (duration) and by count (maxOverallRequests, shared out over the connections).
    const inst = autocannon({ url, connections, pipelining: 1, duration: durationS, maxOverallRequests: max }, (err, res) => (err ? reject(err) : resolve(res)));
    inst.on('error', () => undefined);
  });
  return { ...summarize(r), hitMax: r.requests.total >= max - connections };
}

/** One request on a new connection; resolves with its outcome, never rejects. */
function oneClose(host, port, head, size) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let status = '';
    let bytes = 0;
    let done = false;
    const s = net.connect({ host, port, noDelay: true });
    const finish = (outcome) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({ outcome, ms: performance.now() - t0 });
    };
    s.setTimeout(10_000, () => finish('timeout'));
    s.once('connect', () => s.write(head));
    s.on('data', (b) => {
      if (status.length < 12) status += b.toString('latin1', 0, Math.min(b.length, 12 - status.length));
      bytes += b.length;
    });
    s.once('end', () => finish(status !== 'HTTP/1.1 200' ? 'non2xx' : bytes > size ? 'ok' : 'short'));
    s.once('error', () => finish('error'));
    s.once('close', () => finish(status === '' ? 'error' : status !== 'HTTP/1.1 200' ? 'non2xx' : bytes > size ? 'ok' : 'short'));
  });
}

export async function closeLoad({ url, connections, durationS, max, size }) {
  const u = new URL(url);
  const host = u.hostname;
  const port = Number(u.port);
  const head = `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`;
  const t0 = performance.now();
  const until = t0 + durationS * 1000;
  const lat = [];
  const counts = { ok: 0, non2xx: 0, short: 0, error: 0, timeout: 0 };
  let started = 0;
  const loop = async () => {
    while (performance.now() < until && started < max) {
      started++;
      const { outcome, ms } = await oneClose(host, port, head, size);
      counts[outcome]++;
      if (outcome === 'ok') lat.push(ms);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length === 0 ? undefined : lat[Math.min(lat.length - 1, Math.max(0, Math.ceil((p / 100) * lat.length) - 1))]);
  return {
    rps: counts.ok / wall,
    p50Ms: pct(50),
    p99Ms: pct(99),
    maxMs: lat[lat.length - 1],
    requests: counts.ok,
    errors: counts.error + counts.short,
    timeouts: counts.timeout,
    non2xx: counts.non2xx,
    resets: 0,
    durationS: wall,
    hitMax: started >= max,
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      mode: { type: 'string', default: 'keepalive' },
      connections: { type: 'string', default: '50' },
      duration: { type: 'string', default: '5' },
      max: { type: 'string', default: '200000' },
      size: { type: 'string', default: '0' },
    },
  });
  if (values.url === undefined || !['keepalive', 'close'].includes(values.mode)) {
    process.stderr.write('loadgen: --url URL [--mode keepalive|close] [--connections N] [--duration S] [--max N] [--size BYTES]\n');
    process.exit(2);
  }
  const opts = { url: values.url, connections: Number(values.connections), durationS: Number(values.duration), max: Number(values.max), size: Number(values.size) };
  const cpu0 = process.cpuUsage();
  const r = values.mode === 'keepalive' ? await keepAliveLoad(opts) : await closeLoad(opts);
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ ...r, loadgenCpuS: (cpu.user + cpu.system) / 1e6 })}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`loadgen failed: ${err?.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
