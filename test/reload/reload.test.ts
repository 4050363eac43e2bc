import { join } from 'node:path';
import tls from 'node:tls';
import pino from 'pino';
import { describe, expect, onTestFinished, test } from 'vitest';
import { startTurnout } from '../../src/app.js';
import type { Turnout } from '../../src/app.js';
import { loadConfigFile } from '../../src/config/index.js';
import { READ_TOKEN, api, apiAs } from '../helpers/api.js';
import { defaultHandler, startBackend } from '../helpers/backends.js';
import { clientAgent, get, steadyLoad } from '../helpers/http.js';
import { accepts, freePort, tempDir, writeYaml } from '../helpers/serve.js';
import { hasOpenssl, makeCert } from '../helpers/tls.js';
import { testDocument } from '../helpers/turnout.js';

/** A document for `dir/turnout.yaml`: the test defaults (memory store, ephemeral admin port, the test tokens) with `listen` and `services`. */
function doc(listen: Record<string, unknown>, services: Record<string, unknown>): Record<string, unknown> {
  return testDocument({ listen: { host: '127.0.0.1', ...listen }, services });
}

/** Turnout in this process, started from a file it reloads from. */
async function startFromFile(dir: string, first: Record<string, unknown>): Promise<{ t: Turnout; write: (d: Record<string, unknown>) => Promise<string> }> {
  const write = (d: Record<string, unknown>): Promise<string> => writeYaml(dir, 'turnout.yaml', d);
  const file = await write(first);
  const t = await startTurnout(loadConfigFile(file, {}), { logger: pino({ level: 'silent' }), configFile: file });
  onTestFinished(() => t.stop(200).then(() => undefined));
  return { t, write };
}

const web = (url: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  routes: [{ host: '*', pathPrefix: '/' }],
  pools: { blue: [{ id: 'web-1', url }] },
  outlier: false,
  ...extra,
});

describe('reload in one process', () => {
  test('a new listener address: bound before the old one closes; connections on the old port finish, new ones use the new port', async () => {
    const dir = await tempDir();
    // The slow request must be in flight (at the backend) before the move: a connection still in the
    // old listener's accept queue when it closes is reset by the kernel, for any server.
    let slowArrived!: () => void;
    const arrived = new Promise<void>((r) => (slowArrived = r));
    const b = await startBackend('web-1', (req, res, be) => {
      if (req.url?.startsWith('/slow')) slowArrived();
      defaultHandler(req, res, be);
    });
    const [p1, p2] = [await freePort(), await freePort()];
    const { t, write } = await startFromFile(dir, doc({ port: p1 }, { web: web(b.url) }));
    // 16 keep-alive connections opened on the old port before the move, busy through it.
    const load = steadyLoad(`http://127.0.0.1:${p1}`, { connections: 16, maxMs: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    const agent = clientAgent(1);
    const slow = get(`http://127.0.0.1:${p1}/slow?ms=600`, { agent });
    await arrived;

    await write(doc({ port: p2 }, { web: web(b.url) }));
    const answer = await t.reload();
    expect(answer.changes).toEqual([{ kind: 'listen_changed', path: 'listen.port', from: p1, to: p2 }]);
    expect(t.proxyUrl).toBe(`http://127.0.0.1:${p2}`);
    expect((await get(`http://127.0.0.1:${p2}/`)).status).toBe(200);
    expect(await accepts(p1)).toBe(false);
    expect((await slow).status).toBe(200);

    await new Promise((r) => setTimeout(r, 200));
    const results = await load.stop();
    expect(results.length).toBeGreaterThan(50);
    expect(results.filter((x) => x.status !== 200)).toEqual([]);
  });

  test('a port already taken: 409, nothing changed, the old listener keeps serving', async () => {
    const dir = await tempDir();
    const b = await startBackend('web-1');
    const p1 = await freePort();
    const { t, write } = await startFromFile(dir, doc({ port: p1 }, { web: web(b.url) }));
    const taken = new URL(t.adminUrl).port;
    await write(doc({ port: Number(taken) }, { web: web(b.url, { sticky: true }) }));
    const res = await api(t, 'POST', '/v1/config/reload');
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/cannot listen on .*nothing was changed/);
    expect((await get(`http://127.0.0.1:${p1}/`)).headers['set-cookie']).toBeUndefined();
    expect(t.config.services.web?.sticky).toBe(false);
  });

  test('a removed service drains: its in-flight slow request finishes 200, new requests to its route get 404 no_route', async () => {
    const dir = await tempDir();
    const w = await startBackend('web-1');
    const a = await startBackend('api-1');
    const api1 = { routes: [{ host: 'api.test', pathPrefix: '/' }], pools: { main: [{ id: 'api-1', url: a.url }] }, outlier: false };
    // web on its own host: a request for api.test must find no route once api is gone.
    const web1 = web(w.url, { routes: [{ host: 'web.test', pathPrefix: '/' }] });
    const { t, write } = await startFromFile(dir, doc({ port: 0 }, { web: web1, api: api1 }));
    const slow = get(`${t.proxyUrl}/slow?ms=700`, { headers: { host: 'api.test' } });
    await new Promise((r) => setTimeout(r, 150));

    await write(doc({ port: 0 }, { web: web1 }));
    const answer = await t.reload();
    expect(answer.changes).toEqual([{ kind: 'service_removed', service: 'api' }]);
    const after = await get(`${t.proxyUrl}/`, { headers: { host: 'api.test' } });
    expect(after.status).toBe(404);
    expect(after.headers['x-turnout-error']).toBe('no_route');
    expect((await api(t, 'GET', '/v1/services/api')).status).toBe(404);
    const s = await slow;
    expect(s.status).toBe(200);
    expect(JSON.parse(s.text).backend).toBe('api-1');
    // The service is gone from the API; its drain is in the log (and the runtime's event log).
    await t.runtime.waitFor(() => t.runtime.events.list('api').some((e) => e.type === 'drain_end'), Date.now() + 2000);
    expect(t.runtime.events.list('api').map((e) => e.type)).toEqual(['drain_start', 'drain_end']);
    expect(t.runtime.events.list('api')[1]?.message).toContain('no request in flight');
  });

  test('changed settings take effect: sticky, header limit; the stored split survives the reload', async () => {
    const dir = await tempDir();
    const b = await startBackend('web-1');
    const g = await startBackend('web-2');
    const svc = (extra: Record<string, unknown>): Record<string, unknown> => ({
      ...web(b.url, extra),
      pools: { blue: [{ id: 'web-1', url: b.url }], green: [{ id: 'web-2', url: g.url }] },
    });
    const { t, write } = await startFromFile(dir, doc({ port: 0 }, { web: svc({}) }));
    expect((await api(t, 'POST', '/v1/services/web/flip', { to: 'green' })).status).toBe(200);
    await write(doc({ port: 0, maxHeaderSize: 1024 }, { web: svc({ sticky: true }) }));
    const answer = await t.reload();
    expect(answer.changes).toEqual([
      { kind: 'setting_changed', service: 'web', path: 'sticky', from: false, to: true },
      { kind: 'listen_changed', path: 'listen.maxHeaderSize', from: 16384, to: 1024 },
    ]);
    const r = await get(`${t.proxyUrl}/`);
    expect(r.headers['x-backend']).toBe('web-2');
    expect(String(r.headers['set-cookie'])).toContain('turnout_web=green');
    expect((await get(`${t.proxyUrl}/`, { headers: { 'x-big': 'x'.repeat(2000) } })).status).toBe(431);
  });

  test('API: 400 config_invalid with the key paths, 409 for a key only a restart applies, 403 for a read token, 412 on a stale If-Match, ?dryRun=true; nothing changed', async () => {
    const dir = await tempDir();
    const b = await startBackend('web-1');
    const { t, write } = await startFromFile(dir, doc({ port: 0 }, { web: web(b.url) }));
    const revision = t.runtime.revision;
    await write(doc({ port: 0 }, { web: web(b.url, { timeouts: { connect: 'soon' } }) }));
    const bad = await api(t, 'POST', '/v1/config/reload');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('config_invalid');
    expect(bad.body.error.message).toContain('services.web.timeouts.connect');
    expect(bad.body.error.details).toEqual([expect.stringContaining('services.web.timeouts.connect')]);

    const moved = doc({ port: 0 }, { web: web(b.url) });
    (moved.admin as Record<string, unknown>).port = 1;
    await write(moved);
    const restart = await api(t, 'POST', '/v1/config/reload');
    expect(restart.status).toBe(409);
    expect(restart.body.error.message).toContain('admin.port');

    await write(doc({ port: 0 }, { web: web(b.url, { sticky: true }) }));
    expect((await apiAs(t, READ_TOKEN, 'POST', '/v1/config/reload')).status).toBe(403);
    expect((await api(t, 'POST', '/v1/config/reload', undefined, { 'if-match': `"${revision + 1}"` })).status).toBe(412);
    const dry = await api(t, 'POST', '/v1/config/reload?dryRun=true');
    expect(dry.body).toEqual({ revision, changes: [{ kind: 'setting_changed', service: 'web', path: 'sticky', from: false, to: true }], dryRun: true });
    expect(t.config.services.web?.sticky).toBe(false);

    await write(doc({ port: 0 }, { web: web(b.url) }));
    const ok = await api(t, 'POST', '/v1/config/reload');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ revision, changes: [] });
    expect(ok.headers.get('etag')).toBe(`"${revision}"`);
  });
});

/** The subject CN of the certificate a new TLS connection to `port` is shown. */
function peerCn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.destroy();
      resolve(Array.isArray(cn) ? cn.join(',') : String(cn));
    });
    s.once('error', reject);
  });
}

describe.skipIf(!hasOpenssl())('reload: TLS files', () => {
  test('a renewed certificate in the same files: new connections see it, an open connection keeps its own', async () => {
    const dir = await tempDir();
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    makeCert(certFile, keyFile, 'first');
    const b = await startBackend('web-1');
    const listen = { port: 0, tls: { cert: certFile, key: keyFile } };
    const { t, write } = await startFromFile(dir, doc(listen, { web: web(b.url) }));
    const port = Number(new URL(t.proxyUrl).port);
    expect(await peerCn(port)).toBe('first');
    const open = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    onTestFinished(() => void open.destroy());
    await new Promise((r) => open.once('secureConnect', r));

    makeCert(certFile, keyFile, 'second');
    await write(doc(listen, { web: web(b.url) }));
    const answer = await t.reload();
    expect(answer.changes).toEqual([{ kind: 'listen_changed', path: 'listen.tls', from: expect.stringMatching(/^sha256:/), to: expect.stringMatching(/^sha256:/) }]);
    expect(await peerCn(port)).toBe('second');
    expect(open.getPeerCertificate().subject.CN).toBe('first');
    open.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    const text = await new Promise<string>((r) => {
      let buf = '';
      open.on('data', (d: Buffer) => (buf += d.toString()));
      open.on('end', () => r(buf));
    });
    expect(text).toMatch(/^HTTP\/1\.1 200/);
  });
});
