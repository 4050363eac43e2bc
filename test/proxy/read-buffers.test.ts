import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { describe, expect, onTestFinished, test } from 'vitest';
import { Upstream } from '../../src/proxy/upstream.js';
import type { RelaySink, UpstreamConn, UpstreamOwner } from '../../src/proxy/upstream.js';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { hasOpenssl, makeCert } from '../helpers/tls.js';
import { startTestTurnout } from '../helpers/turnout.js';

/*
 * Upstream sockets read into a buffer each connection owns and reuses (issue 17). The danger is
 * a read overwriting bytes an earlier read left queued on a client socket that could not take
 * them yet. First the rule itself on real sockets (plain and TLS): the next read goes into the
 * same buffer exactly when the owner's sink holds nothing, and a buffer lent to a pending write is
 * never read into again. Then the engine end to end: patterned bodies (every 4-byte word is its
 * own index, so a byte overwritten by a later read shows where) through a slow-reading client and
 * from a slow backend arrive byte-exact.
 */

/** Bytes `from..from+n` of the pattern whose word i (4 bytes at offset 4i, big-endian) is i. */
function patterned(n: number, from = 0): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    const a = from + i;
    out[i] = (Math.floor(a / 4) >>> (8 * (3 - (a & 3)))) & 255;
  }
  return out;
}

/** Checks received bytes against the pattern as they come; `bad` is the first offset that differs, or -1. */
class PatternCheck {
  bytes = 0;
  bad = -1;
  add(d: Buffer): void {
    if (this.bad < 0) {
      const want = patterned(d.length, this.bytes);
      if (!want.equals(d)) for (let i = 0; i < d.length; i++) if (want[i] !== d[i]) {
        this.bad = this.bytes + i;
        break;
      }
    }
    this.bytes += d.length;
  }
}

function listen(server: Server): Promise<number> {
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A backend that sends each message it is told to, when told (the test steps the reads). */
interface Stepper {
  send(text: string): void;
}

/** An owner that records every chunk it is handed (the view, and a copy taken at once) and whose sink holds `pending` bytes. */
class RecordingOwner implements UpstreamOwner {
  readonly views: Buffer[] = [];
  readonly copies: string[] = [];
  pending = 0;
  readonly sink: RelaySink;
  private readonly name: string;
  private waiter: (() => void) | undefined;
  constructor(name: string) {
    this.name = name;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.sink = {
      get writableLength(): number {
        return self.pending;
      },
    };
  }
  onUpstreamConnect(): void {}
  onUpstreamDrain(): void {}
  onUpstreamClose(): void {}
  onUpstreamData(_c: UpstreamConn, chunk: Buffer): void {
    this.views.push(chunk);
    this.copies.push(chunk.toString('latin1'));
    this.waiter?.();
  }
  /** Resolves once `n` chunks arrived. */
  chunks(n: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name}: ${this.views.length} of ${n} reads`)), 5000);
      const check = (): void => {
        if (this.views.length < n) return;
        clearTimeout(t);
        this.waiter = undefined;
        resolve();
      };
      this.waiter = check;
      check();
    });
  }
}
async function plainStepper(): Promise<{ url: string; stepper: Promise<Stepper> }> {
  let ready!: (s: Stepper) => void;
  const stepper = new Promise<Stepper>((resolve) => (ready = resolve));
  const server = net.createServer((s: Socket) => ready({ send: (t) => s.write(t) }));
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, stepper };
}

async function tlsStepper(): Promise<{ url: string; stepper: Promise<Stepper> }> {
  const dir = mkdtempSync(join(tmpdir(), 'turnout-readbuf-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  makeCert(join(dir, 'cert.pem'), join(dir, 'key.pem'));
  let ready!: (s: Stepper) => void;
  const stepper = new Promise<Stepper>((resolve) => (ready = resolve));
  const server = tls.createServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (s) => ready({ send: (t) => s.write(t) }));
  const port = await listen(server);
  return { url: `https://127.0.0.1:${port}`, stepper };
}

const SOCKETS = [
  { name: 'plain', start: plainStepper, skip: false },
  { name: 'TLS', start: tlsStepper, skip: !hasOpenssl() },
];

describe.each(SOCKETS)('an upstream $name socket', ({ name, start, skip }) => {
  test.skipIf(skip)('reads into the same buffer while the sink holds nothing, and into a new one after a read it still holds', async () => {
    const { url, stepper } = await start();
    const up = new Upstream('b', url, { connectTimeoutMs: 1000, rejectUnauthorized: false });
    onTestFinished(() => up.destroy());
    const owner = new RecordingOwner(name);
    const conn = up.acquire(owner, owner.sink);
    onTestFinished(() => conn.destroy());
    const backend = await stepper;

    backend.send('first');
    await owner.chunks(1);
    backend.send('second');
    await owner.chunks(2);
    // Nothing was pending: the second read went into the first one's buffer.
    expect(owner.views[1]?.buffer).toBe(owner.views[0]?.buffer);
    expect(conn.lentReads).toBe(0);

    // The client socket "holds" the third read's bytes: the fourth must not overwrite them.
    owner.pending = 100;
    backend.send('third!');
    await owner.chunks(3);
    owner.pending = 0;
    backend.send('FOURTH');
    await owner.chunks(4);
    expect(conn.lentReads).toBe(1);
    expect(owner.views[3]?.buffer).not.toBe(owner.views[2]?.buffer);
    expect(owner.views[2]?.toString('latin1')).toBe('third!');
    // And the new buffer is reused from then on.
    backend.send('fifth');
    await owner.chunks(5);
    expect(owner.views[4]?.buffer).toBe(owner.views[3]?.buffer);
    expect(owner.copies).toEqual(['first', 'second', 'third!', 'FOURTH', 'fifth']);
  });
});

const MiB = 1024 * 1024;

/** How far a pattern backend got, and since when (performance.now() ms) its socket has been full (0: it is not). */
interface BackendState {
  readonly total: number;
  sent: number;
  blockedSince: number;
}

/**
 * A backend that writes `total` patterned bytes in `piece`-byte writes, waiting `pauseMs` (0: a
 * setImmediate) every `every` pieces: turnout reads the pieces one by one.
 */
async function patternBackend(total: number, piece: number, every: number, pauseMs: number): Promise<{ url: string; state: BackendState }> {
  const state: BackendState = { total, sent: 0, blockedSince: 0 };
  const b = await startBackend('pattern', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
    let n = 0;
    const write = (): void => {
      state.blockedSince = 0;
      while (state.sent < total) {
        const len = Math.min(piece, total - state.sent);
        const ok = res.write(patterned(len, state.sent));
        state.sent += len;
        if (!ok) {
          state.blockedSince = performance.now();
          return void res.once('drain', write);
        }
        if (++n % every === 0) return void (pauseMs > 0 ? setTimeout(write, pauseMs) : setImmediate(write));
      }
      res.end();
    };
    write();
  });
  return { url: b.url, state };
}

/**
 * Resolves once the backend's socket has been full for 200 ms, and at least that long after the
 * client stopped reading: turnout's reading stopped because the client's socket is full. Or once
 * the backend sent everything (the client's receive buffer, grown while it read fast, took it all).
 */
function backendStalled(state: BackendState): Promise<void> {
  const pausedAt = performance.now();
  return new Promise((resolve, reject) => {
    const deadline = pausedAt + 20_000;
    const poll = setInterval(() => {
      const now = performance.now();
      const stalled = state.blockedSince > 0 && now - Math.max(state.blockedSince, pausedAt) > 200;
      if (stalled || state.sent === state.total) {
        clearInterval(poll);
        resolve();
      } else if (now > deadline) {
        clearInterval(poll);
        reject(new Error(`the backend never stalled (${state.sent} bytes sent)`));
      }
    }, 20);
  });
}

/**
 * GETs /pattern through `port` on a raw socket that reads nothing until the backend stalled, then
 * reads until `stallAt` body bytes and stops again until the backend stalled again, then reads to
 * the end (the server closes: Connection: close).
 */
function stallingClient(port: number, state: BackendState, stallAt: number): Promise<{ head: string; check: PatternCheck }> {
  return new Promise((resolve, reject) => {
    const check = new PatternCheck();
    let head: string | undefined;
    let pending = Buffer.alloc(0);
    let stalled = false;
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('GET /pattern HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      socket.pause();
      backendStalled(state).then(() => socket.resume(), reject);
    });
    onTestFinished(() => void socket.destroy());
    socket.on('data', (d: Buffer) => {
      if (head === undefined) {
        pending = Buffer.concat([pending, d]);
        const at = pending.indexOf('\r\n\r\n');
        if (at < 0) return;
        head = pending.subarray(0, at).toString('latin1');
        d = pending.subarray(at + 4);
      }
      check.add(d);
      if (!stalled && check.bytes >= stallAt) {
        stalled = true;
        socket.pause();
        backendStalled(state).then(() => socket.resume(), reject);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ head: head ?? '', check }));
  });
}

/** GETs the body through `proxyUrl`, reading at once. */
function fetchChecked(proxyUrl: string): Promise<{ status: number; check: PatternCheck }> {
  return new Promise((resolve, reject) => {
    const check = new PatternCheck();
    const req = http.get(`${proxyUrl}/pattern`, (res) => {
      res.on('data', (d: Buffer) => check.add(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, check }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('a large patterned answer arrives byte-exact', () => {
  test('through a client that stops reading twice until the backend stalls (small reads queue behind its full socket)', { timeout: 60_000 }, async () => {
    const TOTAL = 24 * MiB;
    const { url, state } = await patternBackend(TOTAL, 1000, 1, 0);
    const t = await startTestTurnout(webService({ blue: [{ id: 'pattern', url }] }, { timeouts: { connect: '1s', response: '10s' } }));
    const port = Number(new URL(t.proxyUrl).port);
    const got = await stallingClient(port, state, 8 * MiB);
    expect(got.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(got.check.bad, `first wrong byte at offset ${got.check.bad}`).toBe(-1);
    expect(got.check.bytes).toBe(TOTAL);
  });

  test('from a slow backend (1 KiB pieces, a pause every 16) to a client that reads at once', { timeout: 60_000 }, async () => {
    const TOTAL = 4 * MiB;
    const { url } = await patternBackend(TOTAL, 1024, 16, 1);
    const t = await startTestTurnout(webService({ blue: [{ id: 'pattern', url }] }, { timeouts: { connect: '1s', response: '10s' } }));
    const got = await fetchChecked(t.proxyUrl);
    expect(got.status).toBe(200);
    expect(got.check.bad, `first wrong byte at offset ${got.check.bad}`).toBe(-1);
    expect(got.check.bytes).toBe(TOTAL);
  });
});
