import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { BIN } from '../helpers/cli.js';
import { deadPort } from '../helpers/backends.js';
import { get } from '../helpers/http.js';
import { sleep } from '../helpers/time.js';

describe('proxy shutdown on SIGTERM', () => {
  test('slow requests finish, the WebSocket gets 1001 at the deadline, exit 0', async () => {
    // Backend: /slow answers after 1.5 s; WebSocket echo.
    const server = http.createServer((req, res) => {
      const ms = req.url?.startsWith('/slow') ? 1500 : 0;
      setTimeout(() => res.end('done'), ms);
    });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m.toString())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(async () => {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const backend = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const dir = mkdtempSync(join(tmpdir(), 'turnout-shutdown-'));
    const proxyPort = await deadPort();
    const adminPort = await deadPort();
    const config = join(dir, 'turnout.yaml');
    writeFileSync(
      config,
      `listen: { host: 127.0.0.1, port: ${proxyPort} }
admin: { host: 127.0.0.1, port: ${adminPort} }
state: { store: memory }
log: { level: warn }
shutdown: { timeout: 3s }
services:
  web:
    routes: [{ host: "*", pathPrefix: "/" }]
    pools: { blue: [{ id: b1, url: "${backend}" }] }
`,
    );
    const child = spawn(process.execPath, [BIN, 'serve', '--config', config], { env: { ...process.env, TURNOUT_ADMIN_TOKEN: 't' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<{ code: number | null; at: number }>((r) => child.on('exit', (code) => r({ code, at: Date.now() })));
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    const ready = async (): Promise<number> => {
      try {
        return (await get(`http://127.0.0.1:${adminPort}/readyz`)).status;
      } catch {
        return 0;
      }
    };
    const end = Date.now() + 10_000;
    while (Date.now() < end && (await ready()) !== 200) await sleep(50);
    expect(await ready()).toBe(200);

    const ws = new WebSocket(`ws://127.0.0.1:${proxyPort}/ws`);
    const wsClosed = new Promise<{ code: number; at: number }>((r) => ws.on('close', (code) => r({ code, at: Date.now() })));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const echoed = await new Promise<string>((r) => {
      ws.once('message', (d) => r(d.toString()));
      ws.send('ping');
    });
    expect(echoed).toBe('ping');

    const slow = Array.from({ length: 4 }, () => get(`http://127.0.0.1:${proxyPort}/slow`).then((r) => ({ status: r.status, at: Date.now() })));
    await sleep(300);
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    await sleep(150);
    expect(await ready()).toBe(503);
    const done = await Promise.all(slow);
    expect(done.map((d) => d.status)).toEqual([200, 200, 200, 200]);
    const closed = await wsClosed;
    expect(closed.code).toBe(1001);
    // At the deadline (3 s), not when the requests ended.
    expect(closed.at - signalledAt).toBeGreaterThan(2500);
    const exit = await exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(6000);
    expect(output).toMatch(/closedUpgrades":1/);
  });
});
