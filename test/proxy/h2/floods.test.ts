import http2 from 'node:http2';
import { describe, expect, onTestFinished, test } from 'vitest';
import { startBackend } from '../../helpers/backends.js';
import { webService } from '../../helpers/config.js';
import { Flag, FrameType, frame, getRequestBlock, literal, ping, rawH2, rstStream, settingsFrame } from '../../helpers/h2-frames.js';
import type { Goaway, RawH2 } from '../../helpers/h2-frames.js';
import { startTurnoutProcess } from '../../helpers/process.js';

/*
 * HTTP/2 floods (SPEC "HTTP/2 and gRPC": Limits): each attack comes as raw frames from a net socket
 * to a real `turnout serve` child. Each test asserts: that connection is closed (and how: the
 * GOAWAY code, or a reset), the proxy stays up, a normal h2 client on its own connection sees no
 * failure during the attack, no attack request reached the backend, and the child's RSS grows
 * less than a bound. Every attack loop is bounded in frames and in time.
 */

const MiB = 1024 * 1024;
/** RSS growth allowed over an attack (the process tree: supervisor and worker). */
const RSS_BOUND = 48 * MiB;
const ATTACK_MS = 8000;

interface Stage {
  readonly port: number;
  /** Requests to /attack… that reached the backend. */
  attackHits(): number;
  /** TCP connections the backend accepted so far. */
  backendConnections(): number;
  rss(): number;
  /** The normal client saw no failure, and a new connection after the attack is served too. */
  stillServes(normal: { ok: number; failed: string[] }): Promise<void>;
  /** Runs `attack` while a normal client sends GET /ok on its own session; answers that client's failures and successes. */
  alongside(attack: () => Promise<void>): Promise<{ ok: number; failed: string[] }>;
}

async function stage(): Promise<Stage> {
  let attackHits = 0;
  const b = await startBackend('b1', (req, res) => {
    if (req.url?.startsWith('/attack')) attackHits++;
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  let backendConnections = 0;
  b.server.on('connection', () => backendConnections++);
  // A loaded machine can take more than the default 15 s to start a supervisor and its worker.
  // Response timeout 30 s: on a starved machine the worker can take seconds to get through a burst
  // of streams; what must not happen is a failure, not a slow answer (the test's load bounds it).
  const t = await startTurnoutProcess(webService({ blue: [b] }, { timeouts: { connect: '1s', response: '30s' } }), { readyTimeoutMs: 40_000 });
  const port = Number(new URL(t.proxyUrl).port);
  const session = http2.connect(t.proxyUrl);
  onTestFinished(() => void session.destroy());
  session.on('error', () => undefined);
  const one = (): Promise<string | undefined> =>
    new Promise((resolve) => {
      const req = session.request({ ':path': '/ok' });
      let status = 0;
      let body = '';
      req.setTimeout(30_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('close', () => resolve(status === 200 && body === 'ok' ? undefined : `status ${status} body ${body.slice(0, 80)}`));
      req.on('error', (err) => resolve(err.message));
      req.end();
    });
  // Warm up (and take the RSS baseline after it).
  for (let i = 0; i < 20; i++) expect(await one()).toBeUndefined();
  return {
    port,
    attackHits: () => attackHits,
    backendConnections: () => backendConnections,
    rss: () => t.rss(),
    async stillServes(normal) {
      expect(normal.failed).toEqual([]);
      expect(normal.ok).toBeGreaterThan(0);
      const fresh = http2.connect(t.proxyUrl);
      onTestFinished(() => void fresh.destroy());
      const status = await new Promise<number>((resolve, reject) => {
        const req = fresh.request({ ':path': '/ok' });
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
      expect(t.child.exitCode).toBeNull();
    },
    async alongside(attack) {
      let running = true;
      const failed: string[] = [];
      let ok = 0;
      const normal = (async () => {
        const end = Date.now() + ATTACK_MS + 2000;
        // Bounded: at most 2,000 requests, 4 at a time, while the attack runs.
        for (let n = 0; (running || n < 8) && n < 2000 && Date.now() < end; n += 4) {
          const r = await Promise.all([one(), one(), one(), one()]);
          for (const x of r) if (x === undefined) ok++;
          else failed.push(x);
        }
      })();
      try {
        await attack();
      } finally {
        running = false;
        await normal;
      }
      return { ok, failed };
    },
  };
}

/** Writes batches from `next` until the connection closes, `maxBatches` were sent, or `ms` (ATTACK_MS) passed. */
async function flood(c: RawH2, next: (i: number) => Buffer, maxBatches: number, ms = ATTACK_MS): Promise<number> {
  const end = Date.now() + ms;
  let closed = false;
  void c.closed.then(() => (closed = true));
  let i = 0;
  for (; i < maxBatches && !closed && Date.now() < end; i++) {
    if (!(await c.write(next(i)))) break;
  }
  return i;
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_r, reject) => setTimeout(() => reject(new Error(`${what} within ${ms}ms`)), ms))]);

describe('HTTP/2 floods close that connection, and only that one', () => {
  test('rapid reset (CVE-2023-44487): HEADERS then RST_STREAM, thousands', async () => {
    const s = await stage();
    const before = s.rss();
    const c = await rawH2(s.port);
    const block = getRequestBlock('127.0.0.1', '/attack');
    let sent = 0;
    let closedWith: Goaway | undefined;
    const normal = await s.alongside(async () => {
      // 100 HEADERS + RST_STREAM pairs per write, up to 20,000 streams.
      const batches = await flood(
        c,
        (i) => Buffer.concat(Array.from({ length: 100 }, (_, k) => {
          const id = 2 * (i * 100 + k) + 1;
          return Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, block), rstStream(id)]);
        })),
        200,
        // The budget refills at 33/s: a machine too loaded to send fast needs longer to exhaust it.
        3 * ATTACK_MS,
      );
      sent = batches * 100;
      closedWith = (await within(c.closed, 10_000, `the attacking connection closed (after ${sent} streams)`)).goaway;
    });
    expect(sent).toBeGreaterThan(500);
    // The burst keeps the worker busy for a second or two on a loaded machine: the normal client's
    // requests read meanwhile keep their whole timeouts (the engine's deadline sweep, sweep.ts).
    await s.stillServes(normal);
    // The front's reset budget (500 aborted streams, +33/s) ends the session with GOAWAY
    // ENHANCE_YOUR_CALM before nghttp2's own limit (1,000, which would say INTERNAL_ERROR).
    expect(closedWith?.name).toBe('ENHANCE_YOUR_CALM');
    expect(closedWith?.lastStreamId).toBeLessThan(2 * 1000);
    // The front hands a stream to the engine once the read it came in is processed: one reset in
    // the same bytes is dropped before any of it reaches a backend.
    expect(s.attackHits()).toBe(0);
    expect(s.rss() - before).toBeLessThan(RSS_BOUND);
  });

  test('rapid reset: a parallel client on its own connection sees 0 failures', async () => {
    const s = await stage();
    const c = await rawH2(s.port);
    const block = getRequestBlock('127.0.0.1', '/attack');
    const normal = await s.alongside(async () => {
      await flood(
        c,
        (i) => Buffer.concat(Array.from({ length: 100 }, (_, k) => {
          const id = 2 * (i * 100 + k) + 1;
          return Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, block), rstStream(id)]);
        })),
        200,
        3 * ATTACK_MS,
      );
      await within(c.closed, 10_000, 'the attacking connection closed');
    });
    await s.stillServes(normal);
  });

  test('streams reset in the same bytes as their HEADERS reach neither the engine nor a backend', async () => {
    const s = await stage();
    const conns = s.backendConnections();
    const c = await rawH2(s.port);
    const block = getRequestBlock('127.0.0.1', '/attack');
    // 300 HEADERS + RST_STREAM pairs in one write (under the reset budget: the session stays open),
    // then a request that is not reset, on the same connection.
    const pairs = Array.from({ length: 300 }, (_, k) => Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 2 * k + 1, block), rstStream(2 * k + 1)]));
    await c.write(Buffer.concat([...pairs, frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 601, getRequestBlock('127.0.0.1', '/ok'))]));
    const until = Date.now() + 10_000;
    while ((c.received.get(FrameType.HEADERS) ?? 0) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(c.received.get(FrameType.HEADERS)).toBe(1);
    expect(s.attackHits()).toBe(0);
    // Not even a connection: the request that was answered took the one the warm-up left (or,
    // had it timed out idle meanwhile, one new one). Handed to the engine at once, the 300 would
    // each have taken one.
    expect(s.backendConnections() - conns).toBeLessThanOrEqual(1);
  });

  test('CONTINUATION flood: HEADERS without END_HEADERS, then CONTINUATION frames without end', async () => {
    const s = await stage();
    const before = s.rss();
    const c = await rawH2(s.port);
    const normal = await s.alongside(async () => {
      await c.write(frame(FrameType.HEADERS, Flag.END_STREAM, 1, getRequestBlock('127.0.0.1', '/attack')));
      const piece = literal('x-flood', 'a'.repeat(100));
      // Up to 20,000 frames (2.2 MB of header block for one stream).
      const batches = await flood(c, () => Buffer.concat(Array.from({ length: 50 }, () => frame(FrameType.CONTINUATION, 0, 1, piece))), 400);
      const end = await within(c.closed, 5000, 'the attacking connection closed');
      // node ends the session once the block passes its header limits: the socket closes (no
      // GOAWAY reaches this client, which is still writing: EPIPE/ECONNRESET) long before 20,000.
      expect(batches).toBeLessThan(400);
      expect(end.goaway === undefined || ['ENHANCE_YOUR_CALM', 'PROTOCOL_ERROR', 'COMPRESSION_ERROR'].includes(end.goaway.name)).toBe(true);
    });
    await s.stillServes(normal);
    expect(s.attackHits()).toBe(0);
    expect(s.rss() - before).toBeLessThan(RSS_BOUND);
  });

  test('SETTINGS flood from a client that never reads the ACKs', async () => {
    const s = await stage();
    const before = s.rss();
    const c = await rawH2(s.port, { read: false });
    const normal = await s.alongside(async () => {
      // Up to 50,000 SETTINGS frames; each asks for an ACK the client never reads.
      const batches = await flood(c, () => Buffer.concat(Array.from({ length: 100 }, () => settingsFrame([[4, 65535]]))), 500);
      await within(c.closed, 5000, 'the attacking connection closed');
      // nghttp2 stops at 1,000 queued ACKs (its outbound flood limit) and node drops the socket.
      expect(batches).toBeLessThan(500);
    });
    await s.stillServes(normal);
    expect(s.rss() - before).toBeLessThan(RSS_BOUND);
  });

  test('PING flood from a client that never reads the answers', async () => {
    const s = await stage();
    const before = s.rss();
    const c = await rawH2(s.port, { read: false });
    const normal = await s.alongside(async () => {
      // Up to 50,000 PINGs whose answers are never read.
      const batches = await flood(c, (i) => Buffer.concat(Array.from({ length: 100 }, (_, k) => ping(i * 100 + k))), 500);
      await within(c.closed, 5000, 'the attacking connection closed');
      expect(batches).toBeLessThan(500);
    });
    await s.stillServes(normal);
    expect(s.rss() - before).toBeLessThan(RSS_BOUND);
  });

  test('a header list over maxHeaderListSize', async () => {
    const s = await stage();
    const c = await rawH2(s.port);
    const normal = await s.alongside(async () => {
      const big = Buffer.concat([getRequestBlock('127.0.0.1', '/attack'), ...Array.from({ length: 10 }, (_, k) => literal(`x-big-${k}`, 'b'.repeat(2000)))]);
      // 20 KiB of header block in frames within the 16 KiB default frame size: HEADERS then one CONTINUATION.
      await c.write(Buffer.concat([frame(FrameType.HEADERS, Flag.END_STREAM, 1, big.subarray(0, 12000)), frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, big.subarray(12000))]));
      const end = await within(c.closed, 5000, 'the attacking connection closed');
      // node advertises the limit but does not enforce it: the front measures the list (RFC 9113
      // §6.5.2) and closes the session.
      expect(end.goaway?.name).toBe('ENHANCE_YOUR_CALM');
      expect(c.received.get(FrameType.HEADERS) ?? 0).toBe(0);
    });
    await s.stillServes(normal);
    expect(s.attackHits()).toBe(0);
  });

  test('a header list just under maxHeaderListSize is served', async () => {
    const s = await stage();
    const c = await rawH2(s.port);
    // 15 KiB: under the 16 KiB default, over nothing else (the engine's maxHeaderSize is 16 KiB too).
    const block = Buffer.concat([getRequestBlock('127.0.0.1', '/attack'), ...Array.from({ length: 5 }, (_, k) => literal(`x-big-${k}`, 'b'.repeat(2800)))]);
    await c.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block));
    const until = Date.now() + 5000;
    while ((c.received.get(FrameType.HEADERS) ?? 0) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(c.received.get(FrameType.HEADERS)).toBe(1);
    expect(s.attackHits()).toBe(1);
  });
});
