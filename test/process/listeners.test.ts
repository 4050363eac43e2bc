import { join } from 'node:path';
import { request, Agent } from 'undici';
import pino from 'pino';
import { describe, expect, onTestFinished, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { steadyLoad } from '../helpers/http.js';
import type { LoadResult } from '../helpers/http.js';
import { runRequests } from '../helpers/load.js';
import { freePort, tempDir, writeYaml } from '../helpers/serve.js';
import { sleep, until } from '../helpers/time.js';
import { hasOpenssl, makeCert } from '../helpers/tls.js';
import { startTestTurnout, testDocument } from '../helpers/turnout.js';
import { startTurnout } from '../../src/app.js';
import { loadConfigFile } from '../../src/config/index.js';
import { reusePortAvailable } from '../../src/process/reuseport.js';

// Issue 16, "a listener per worker": each worker accepts on a SO_REUSEPORT socket of its own that
// the supervisor keeps a copy of. Node >= 22.12 on Linux; on Node 20 the hand-off serves instead.
const reuse = reusePortAvailable();

const refused = (rs: readonly LoadResult[]): LoadResult[] => rs.filter((r) => r.status === 0 && /ECONNREFUSED/.test(r.error ?? ''));
const failed = (rs: readonly LoadResult[]): LoadResult[] => rs.filter((r) => r.status !== 200);

describe.runIf(reuse)('a listening socket per worker (SO_REUSEPORT)', () => {
  test('the workers accept themselves: 400 new connections spread over 2 workers (each 30-70 %), none handed over', async () => {
    const t = await startTestTurnout(webService({ blue: [await startBackend('a')] }), { workers: 2 });
    expect(t.workers?.acceptorKind).toBe('reuseport');
    const outs = await runRequests(t.proxyUrl, { count: 400, connections: 4, agent: new Agent({ pipelining: 0, connections: 4 }), headers: { connection: 'close' } });
    expect(outs.filter((o) => o.status !== 200)).toEqual([]);
    await until('the workers reported 400 connections', () => (t.workers?.workersInfo() ?? []).reduce((n, w) => n + w.connections.total, 0) >= 400, 3000, 20);
    const totals = (t.workers?.workersInfo() ?? []).map((w) => w.connections.total);
    expect(totals.reduce((a, b) => a + b, 0)).toBe(400);
    for (const n of totals) expect(n).toBeGreaterThanOrEqual(120);
  }, 30_000);

  test('a killed worker: its queue waits for the replacement on the same socket, no connection is refused', async () => {
    const t = await startTestTurnout(webService({ blue: [await startBackend('a')] }), { workers: 2 });
    const load = steadyLoad(t.proxyUrl, { connections: 6, maxMs: 20_000, newConnections: true });
    await sleep(500);
    const victim = t.workers?.workersInfo()[0];
    process.kill(victim!.pid, 'SIGKILL');
    await until('its replacement serves', () => {
      const now = t.workers?.workersInfo() ?? [];
      return now.length === 2 && now.every((w) => w.state === 'serving') && !now.some((w) => w.pid === victim!.pid);
    }, 10_000, 20);
    await sleep(500);
    const results = await load.stop();
    // New connections hashed to the dead worker's socket wait there until its replacement listens.
    expect(results.length).toBeGreaterThan(10);
    expect(refused(results)).toEqual([]);
    // Only the requests in flight on the killed worker can fail (6 loops: at most 6).
    expect(failed(results).length).toBeLessThanOrEqual(6);
  }, 30_000);

  test('a reload that moves the listener, under load on the old address: 0 refused before it moves, the new address serves on every worker', async () => {
    const backend = await startBackend('a');
    const dir = await tempDir();
    const port = await freePort();
    const doc = (p: number): Record<string, unknown> => testDocument({ ...webService({ blue: [backend] }), listen: { host: '127.0.0.1', port: p } });
    const file = await writeYaml(dir, 'turnout.yaml', doc(port));
    const t = await startTurnout(loadConfigFile(file), { logger: pino({ level: 'silent' }), configFile: file, workers: 2 });
    onTestFinished(() => t.stop(200).then(() => undefined));
    const load = steadyLoad(`http://127.0.0.1:${port}`, { connections: 4, maxMs: 20_000 });
    await sleep(300);
    const next = await freePort();
    await writeYaml(dir, 'turnout.yaml', doc(next));
    await t.reload();
    const before = await load.stop();
    expect(failed(before)).toEqual([]);
    expect(t.proxyUrl).toBe(`http://127.0.0.1:${next}`);
    const outs = await runRequests(t.proxyUrl, { count: 200, connections: 4, agent: new Agent({ connections: 4 }), headers: { connection: 'close' } });
    expect(outs.filter((o) => o.status !== 200)).toEqual([]);
  }, 30_000);

  test.runIf(hasOpenssl())('TLS: each worker does the handshake on its own socket', async () => {
    const dir = await tempDir();
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    makeCert(certFile, keyFile);
    const t = await startTestTurnout({ ...webService({ blue: [await startBackend('a')] }), listen: { host: '127.0.0.1', port: 0, tls: { cert: certFile, key: keyFile } } }, { workers: 2 });
    expect(t.proxyUrl).toMatch(/^https:/);
    const agent = new Agent({ connect: { rejectUnauthorized: false }, connections: 4 });
    for (let i = 0; i < 40; i++) {
      const res = await request(`${t.proxyUrl}/`, { dispatcher: agent, reset: true });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    await until('both workers took connections', () => (t.workers?.workersInfo() ?? []).every((w) => w.connections.total > 0), 3000, 20);
  }, 30_000);
});

describe('the hand-off (Node 20, or TURNOUT_ACCEPTOR=handoff)', () => {
  test('the supervisor hands the connections over', async () => {
    const was = process.env.TURNOUT_ACCEPTOR;
    process.env.TURNOUT_ACCEPTOR = 'handoff';
    onTestFinished(() => {
      if (was === undefined) delete process.env.TURNOUT_ACCEPTOR;
      else process.env.TURNOUT_ACCEPTOR = was;
    });
    const t = await startTestTurnout(webService({ blue: [await startBackend('a')] }), { workers: 2 });
    expect(t.workers?.acceptorKind).toBe('handoff');
    const outs = await runRequests(t.proxyUrl, { count: 100, connections: 4 });
    expect(outs.filter((o) => o.status !== 200)).toEqual([]);
  }, 30_000);
});
