import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { webService } from '../helpers/config.js';
import { get } from '../helpers/http.js';
import { hasOpenssl, makeCert } from '../helpers/tls.js';
import { startTestTurnout } from '../helpers/turnout.js';

const OPENSSL = hasOpenssl();
if (!OPENSSL) console.warn('test/proxy/https.test.ts: skipped, `openssl` is not on PATH (needed to make a self-signed certificate)');

describe.skipIf(!OPENSSL)('HTTPS (a self-signed certificate made with openssl at test time)', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;
  let certFile: string;
  let keyFile: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'turnout-tls-'));
    certFile = join(dir, 'cert.pem');
    keyFile = join(dir, 'key.pem');
    makeCert(certFile, keyFile);
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** An HTTPS backend with the same self-signed certificate; answers what it saw as JSON. */
  async function startHttpsBackend(id: string): Promise<{ url: string; hits: () => number }> {
    let hits = 0;
    const server = https.createServer({ cert, key }, (req, res) => {
      hits++;
      req.resume();
      const body = JSON.stringify({ backend: id, tls: (req.socket as TLSSocket).encrypted === true, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': id });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
  }

  /** A client that trusts exactly the test certificate (full verification, no rejectUnauthorized: false). */
  function trustingAgent(): Agent {
    const agent = new Agent({ connect: { ca: cert } });
    onTestFinished(() => agent.destroy());
    return agent;
  }

  test('listen.tls serves HTTPS and proxies to an HTTPS backend with tls.rejectUnauthorized: false', async () => {
    const b = await startHttpsBackend('tls-1');
    const t = await startTestTurnout({
      ...webService({ blue: [{ id: 'tls-1', url: b.url }] }, { tls: { rejectUnauthorized: false } }),
      listen: { host: '127.0.0.1', port: 0, tls: { cert: certFile, key: keyFile } },
    });
    expect(t.proxyUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const agent = trustingAgent();
    for (let i = 0; i < 3; i++) {
      const res = await get(`${t.proxyUrl}/secure/${i}`, { agent, headers: { 'x-forwarded-for': '192.0.2.1' } });
      expect(res.status).toBe(200);
      const seen = JSON.parse(res.text) as { backend: string; tls: boolean; headers: Record<string, string> };
      expect(seen.backend).toBe('tls-1');
      expect(seen.tls).toBe(true);
      expect(seen.headers['x-forwarded-proto']).toBe('https');
      expect(seen.headers['x-forwarded-for']).toBe('192.0.2.1, 127.0.0.1');
    }
    expect(b.hits()).toBe(3);
  });

  test('a client that does not trust the certificate cannot talk to the listener', async () => {
    const b = await startHttpsBackend('tls-1');
    const t = await startTestTurnout({
      ...webService({ blue: [{ id: 'tls-1', url: b.url }] }, { tls: { rejectUnauthorized: false } }),
      listen: { host: '127.0.0.1', port: 0, tls: { cert: certFile, key: keyFile } },
    });
    const agent = new Agent();
    onTestFinished(() => agent.destroy());
    await expect(get(`${t.proxyUrl}/`, { agent })).rejects.toThrow(/self[- ]signed/i);
    expect(b.hits()).toBe(0);
  });

  test('by default the backend certificate is verified: a self-signed backend gets 502 upstream_error', async () => {
    const b = await startHttpsBackend('tls-1');
    const t = await startTestTurnout(webService({ blue: [{ id: 'tls-1', url: b.url }] }));
    const res = await get(`${t.proxyUrl}/`);
    expect(res.status).toBe(502);
    expect(res.headers['x-turnout-error']).toBe('upstream_error');
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'upstream_error' } });
    expect(b.hits()).toBe(0);
  });
});
