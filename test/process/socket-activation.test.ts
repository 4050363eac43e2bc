import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { stringify } from 'yaml';
import { TOKEN } from '../helpers/api.js';
import { startBackend } from '../helpers/backends.js';
import { BIN } from '../helpers/cli.js';
import { processTree, killQuietly } from '../helpers/process.js';
import { until } from '../helpers/time.js';
import { readActivation } from '../../src/process/socket-activation.js';
import { reusePortAvailable } from '../../src/process/reuseport.js';

// Issue 16: socket activation by systemd (LISTEN_FDS) as the other way to hand turnout its
// listeners: systemd holds the sockets, so a restart of the whole tree refuses no connection.

describe('readActivation: what the environment says systemd passed (sd_listen_fds)', () => {
  const pid = 4242;
  test.each([
    ['nothing set', {}, undefined],
    ['set for another process', { LISTEN_PID: '1', LISTEN_FDS: '1' }, undefined],
    ['one socket: the proxy', { LISTEN_PID: '4242', LISTEN_FDS: '1' }, { data: 3, admin: undefined }],
    ['two: proxy then admin', { LISTEN_PID: '4242', LISTEN_FDS: '2' }, { data: 3, admin: 4 }],
    ['named, admin first', { LISTEN_PID: '4242', LISTEN_FDS: '2', LISTEN_FDNAMES: 'admin:proxy' }, { data: 4, admin: 3 }],
    ['named, proxy only', { LISTEN_PID: '4242', LISTEN_FDS: '1', LISTEN_FDNAMES: 'proxy' }, { data: 3, admin: undefined }],
    ['unnamed ("unknown")', { LISTEN_PID: '4242', LISTEN_FDS: '2', LISTEN_FDNAMES: 'unknown:unknown' }, { data: 3, admin: 4 }],
  ])('%s', (_name, env, want) => {
    expect(readActivation(env, pid)).toEqual(want);
  });
  test.each([
    ['no count', { LISTEN_PID: '4242', LISTEN_FDS: 'x' }, /LISTEN_FDS is "x"/],
    ['three sockets', { LISTEN_PID: '4242', LISTEN_FDS: '3' }, /takes 1 socket/],
    ['names without proxy', { LISTEN_PID: '4242', LISTEN_FDS: '1', LISTEN_FDNAMES: 'web' }, /no socket named "proxy"/],
  ])('refused: %s', (_name, env, message) => {
    expect(() => readActivation(env, pid)).toThrow(message);
  });
});

describe.runIf(reusePortAvailable())('turnout serve on sockets systemd passed', () => {
  test('2 workers accept on the passed proxy socket and the admin API on the passed admin socket; nothing else is bound', async () => {
    const b = await startBackend('a');
    const dir = mkdtempSync(join(tmpdir(), 'turnout-sa-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // The config names ports nobody listens on: what serves is what "systemd" passed.
    const file = join(dir, 'turnout.yaml');
    writeFileSync(
      file,
      stringify({
        listen: { host: '127.0.0.1', port: 1 },
        admin: { host: '127.0.0.1', port: 2, tokens: [{ name: 'ci', token: TOKEN, scope: 'write' }] },
        state: { store: 'memory' },
        log: { level: 'info' },
        services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'a', url: b.url }] } } },
      }),
    );
    // What systemd does: bind and listen, then start the service with the sockets as fds 3 and 4.
    const listen = (): Promise<net.Server> => new Promise((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    const proxy = await listen();
    const admin = await listen();
    const port = (s: net.Server): number => (s.address() as net.AddressInfo).port;
    const proxyPort = port(proxy);
    const adminPort = port(admin);
    const fd = (s: net.Server): number => (s as unknown as { _handle: { fd: number } })._handle.fd;
    const child = spawn('/bin/sh', ['-c', `LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=proxy:admin exec "${process.execPath}" "${BIN}" serve --config "${file}" --workers 2`], {
      env: { ...process.env, TURNOUT_ADMIN_TOKEN: '', TURNOUT_LOG_FORMAT: 'json', TURNOUT_RUNTIME_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe', fd(proxy), fd(admin)],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    onTestFinished(() => {
      for (const p of processTree(child.pid as number).reverse()) killQuietly(p);
    });
    // Our copies close: only turnout has the sockets now.
    proxy.close();
    admin.close();
    await until('turnout ready', async () => out.includes('"turnout ready"'), 20_000, 50).catch((err: Error) => {
      throw new Error(`${err.message}:\n${out}`);
    });
    expect(out).toContain('socket activation: listening on the sockets systemd passed');
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`http://127.0.0.1:${proxyPort}/`, { headers: { connection: 'close' } });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    const fleet = (await (await fetch(`http://127.0.0.1:${adminPort}/v1/fleet`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { instances: { workers: { pid: number }[] }[] };
    expect(fleet.instances[0]?.workers).toHaveLength(2);
    // The config's ports were never bound.
    await expect(fetch('http://127.0.0.1:1/')).rejects.toThrow();
    // The variables do not reach the workers (each would take fd 3 for its own).
    expect(out).not.toContain('LISTEN_FDS is');
  }, 40_000);
});
