import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, onTestFinished, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { procStatusBytes, processTree, startTurnoutProcess } from '../helpers/process.js';
import type { TurnoutProcess } from '../helpers/process.js';
import { rawSend, takeResponse } from '../helpers/raw.js';

/*
 * The engine's memory budget (SPEC "Request path": bodies stream both ways, never sit in memory).
 * turnout runs as child processes (the built `turnout serve`: `npm run build` first, a supervisor
 * and its worker) so only their VmRSS is measured, summed over the process tree, sampled every 10 ms.
 *
 * streaming.test.ts already holds today's implementation to < 50 MB growth per 200 MiB transfer and
 * checks backpressure (the sender's lead). This file is the engine's target, stricter and exact:
 * both directions through one process, every byte hashed (SHA-256 of distinct chunks, so a dropped,
 * repeated or reordered chunk shows), growth < 32 MiB over the baseline taken after a warm-up; and
 * 10,000 idle keep-alive client connections in < 150 MiB of RSS in total.
 */

const MiB = 1024 * 1024;
const TOTAL = 200 * MiB;
const CHUNK = 64 * 1024;
const linuxOnly = process.platform !== 'linux';

/** `total` bytes in 64 KiB chunks, each stamped with its index; `digest()` once it has ended. */
function stampedSource(total: number): { stream: Readable; digest: () => string } {
  const base = randomBytes(CHUNK);
  const hash = createHash('sha256');
  let sent = 0;
  let i = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(CHUNK, total - sent);
      const chunk = Buffer.allocUnsafe(n);
      base.copy(chunk, 0, 0, n);
      chunk.writeUInt32BE(i++, 0);
      sent += n;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

/** Reads `stream` to its end without keeping it: byte count and SHA-256. */
function drainHashed(stream: Readable): Promise<{ bytes: number; sha: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    stream.on('end', () => resolve({ bytes, sha: hash.digest('hex') }));
    stream.on('error', reject);
  });
}

/** Runs `fn` while sampling the child's RSS every 10 ms; answers its result and the peak. */
async function withPeakRss<T>(p: TurnoutProcess, fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = p.rss();
  const timer = setInterval(() => (peak = Math.max(peak, p.rss())), 10);
  try {
    const result = await fn();
    return { result, peak: Math.max(peak, p.rss()) };
  } finally {
    clearInterval(timer);
  }
}

function mb(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

function upload(p: TurnoutProcess, total: number): Promise<{ status: number; body: string; sentSha: string }> {
  return new Promise((resolve, reject) => {
    const src = stampedSource(total);
    const req = http.request(`${p.proxyUrl}/upload`, { method: 'POST', headers: { 'content-length': total } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sentSha: src.digest() }));
    });
    req.on('error', reject);
    src.stream.pipe(req);
  });
}

function download(p: TurnoutProcess, total: number): Promise<{ status: number; bytes: number; sha: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${p.proxyUrl}/download?bytes=${total}`, (res) => {
        drainHashed(res).then(({ bytes, sha }) => resolve({ status: res.statusCode ?? 0, bytes, sha }), reject);
      })
      .on('error', reject);
  });
}

test.skipIf(linuxOnly)('200 MiB up and 200 MiB down through turnout arrive byte-exact; turnout RSS grows < 32 MiB', { timeout: 90_000 }, async () => {
  /** SHA-256 of the last download the backend sent. */
  let lastSentSha = '';
  const b = await startBackend('bulk', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/download') {
      req.resume();
      const total = Number(url.searchParams.get('bytes') ?? '0');
      const src = stampedSource(total);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      src.stream.on('end', () => (lastSentSha = src.digest()));
      src.stream.pipe(res);
      return;
    }
    void drainHashed(req).then((got) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(got));
    });
  });
  const p = await startTurnoutProcess(webService({ blue: [{ id: 'bulk', url: b.url }] }, { timeouts: { connect: '1s', response: '60s' } }));

  // Warm-up: lazy initialisation is not what is measured. Small bodies only: each large transfer
  // leaves garbage that V8 frees lazily (+8 MiB of RSS per 4 MiB transfer seen today), which would
  // raise the baseline and hide the growth this test is about.
  for (let i = 0; i < 5; i++) {
    expect((await upload(p, 64 * 1024)).status).toBe(200);
    expect((await download(p, 64 * 1024)).status).toBe(200);
  }
  const baseline = p.rss();

  const up = await withPeakRss(p, () => upload(p, TOTAL));
  expect(up.result.status).toBe(200);
  expect(JSON.parse(up.result.body)).toEqual({ bytes: TOTAL, sha: up.result.sentSha });

  const down = await withPeakRss(p, () => download(p, TOTAL));
  expect(down.result.status).toBe(200);
  expect(down.result.bytes).toBe(TOTAL);
  expect(down.result.sha).toBe(lastSentSha);

  const what = `turnout RSS ${mb(baseline)} after warm-up, peak ${mb(up.peak)} uploading, ${mb(down.peak)} downloading`;
  console.log(what);
  expect(Math.max(up.peak, down.peak) - baseline, what).toBeLessThan(32 * MiB);
});

/** Soft limit on open files of this process (/proc/self/limits), or Infinity when unlimited. */
function openFilesLimit(): number {
  const m = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m?.[1] === undefined || m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

const IDLE = 10_000;
const BATCH = 250;
const PROBES = 50;
/**
 * Descriptors each side needs: the idle connections, one batch of upstream connections (the
 * backend lives in this process) and the probes, plus slack for vitest and the runtime. turnout, a
 * child, inherits this process's limit and needs about as many. The limit cannot be raised here
 * (the hard limit on this machine is 20000 and CAP_SYS_RESOURCE is absent), so the test skips,
 * saying why, below it.
 */
const FDS_NEEDED = IDLE + BATCH + PROBES + 500;
const fdsShort = !linuxOnly && openFilesLimit() < FDS_NEEDED;
if (fdsShort) console.log(`skipping the 10,000 idle connections test: ulimit -n is ${openFilesLimit()}, it needs ${FDS_NEEDED} (raise it before running vitest)`);

/** Opens a connection, sends one keep-alive GET, resolves once the answer is complete; keeps it open. */
function idleClient(port: number, i: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection ${i}: no complete answer within ${timeoutMs}ms; got ${JSON.stringify(text.slice(0, 120))}`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`connection ${i}: ${err.message}`));
    });
    socket.on('connect', () => socket.write(`GET /idle/${i} HTTP/1.1\r\nHost: a\r\n\r\n`));
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      const res = takeResponse(text);
      if (res === undefined) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.removeAllListeners('error');
      // Idle from here on; a close is counted by the caller.
      socket.on('error', () => undefined);
      if (res.response.status !== 200) reject(new Error(`connection ${i}: status ${res.response.status}`));
      else resolve(socket);
    };
    socket.on('data', onData);
  });
}

// The engine's budget is for the data plane in one process (workers: 0). With the default
// supervisor and one worker, the worker holds the connections and the same budget applies to it;
// the supervisor is a second Node.js runtime on top (its RSS is printed and bounded).
describe.each([
  { model: 'workers: 0 (one process)', workers: 0 },
  { model: 'supervisor and 1 worker', workers: 1 },
])('$model', ({ workers }) => {
test.skipIf(linuxOnly || fdsShort)(`${IDLE} idle keep-alive client connections: turnout RSS < 150 MiB (the data plane's process), new requests still served`, { timeout: 90_000 }, async () => {
  const b = await startBackend('idle', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': 2 });
    res.end('ok');
  });
  // keepAliveTimeout well past the test's length, so turnout keeps every idle connection.
  // On Node >= 22 turnout runs as docs/operations.md ("Memory on Node 22 and later") says a lean
  // process should: with V8's young generation capped as Node 20 sized it (--max-semi-space-size=8).
  // Without it, Node 24 grows the young generation to 32 MiB in the burst of 10,000 accepts
  // (one process: 160 MiB in all, against 138 on Node 20); the connections cost the same.
  const lean = Number(process.versions.node.split('.')[0]) >= 22 ? { env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=8`.trim() } } : {};
  const p = await startTurnoutProcess({ ...webService({ blue: [{ id: 'idle', url: b.url }] }), listen: { host: '127.0.0.1', port: 0, keepAliveTimeout: '300s' }, workers }, lean);
  const port = Number(new URL(p.proxyUrl).port);
  const sockets: Socket[] = [];
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
  });

  const deadline = Date.now() + 45_000;
  for (let start = 0; start < IDLE; start += BATCH) {
    if (Date.now() > deadline) throw new Error(`only ${sockets.length} of ${IDLE} connections opened within 45 s`);
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, IDLE - start) }, (_, k) => idleClient(port, start + k, 15_000)));
    sockets.push(...batch);
  }
  const total = p.rss();
  const tree = processTree(p.pid);
  const dataPlane = workers === 0 ? total : tree.slice(1).reduce((n, pid) => n + procStatusBytes(pid, 'VmRSS'), 0);
  const supervisor = total - dataPlane;
  const what = `turnout RSS ${mb(total)} in all (data plane ${mb(dataPlane)}${workers === 0 ? '' : `, supervisor ${mb(supervisor)}`}) holding ${sockets.length} idle keep-alive connections`;
  console.log(what);
  expect(sockets.length).toBe(IDLE);
  expect(tree).toHaveLength(workers + 1);
  // Soft: the still-serving checks below report too when the budget is missed.
  expect.soft(dataPlane, what).toBeLessThan(150 * MiB);
  if (workers > 0) expect.soft(supervisor, what).toBeLessThan(130 * MiB);

  // Still serving: new connections get answers while the idle ones are held.
  const statuses: number[] = [];
  for (let start = 0; start < PROBES; start += 10) {
    const outs = await Promise.all(
      Array.from({ length: 10 }, (_, k) => rawSend(port, `GET /probe/${start + k} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, { timeoutMs: 5000 })),
    );
    statuses.push(...outs.map((o) => takeResponse(o.text, { closed: o.closed })?.response.status ?? 0));
  }
  expect(statuses).toEqual(Array.from({ length: PROBES }, () => 200));
  // turnout kept them: none of the idle connections was closed under it.
  expect(sockets.filter((s) => s.destroyed || s.readableEnded).length, 'idle connections turnout closed').toBe(0);
});
});
