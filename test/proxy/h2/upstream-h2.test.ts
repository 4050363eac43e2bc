import { mkdtempSync, readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { webService } from '../../helpers/config.js';
import { hasOpenssl, makeCert } from '../../helpers/tls.js';
import { api, startTestTurnout } from '../../helpers/turnout.js';
import { defaultH2, h2Request, startH2Backend } from './h2-backend.js';

const h2 = { upstreamProtocol: 'h2' };

function client(url: string): http2.ClientHttp2Session {
  const s = http2.connect(url);
  s.on('error', () => undefined);
  onTestFinished(() => void s.destroy());
  return s;
}

describe('upstreamProtocol h2: requests go to the backend as HTTP/2 streams', () => {
  test('an HTTP/2 client and an HTTP/1.1 client both reach an h2c backend; the request path rewrites as for HTTP/1.1', async () => {
    const b = await startH2Backend('h1');
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const s = client(t.proxyUrl);
    const a = await h2Request(s, { ':path': '/x?q=1', 'x-custom': 'yes' });
    expect(a.status).toBe(200);
    expect(a.headers['x-backend']).toBe('h1');
    const seen = b.seen[0];
    expect(seen?.headers[':path']).toBe('/x?q=1');
    expect(seen?.headers['x-custom']).toBe('yes');
    expect(seen?.headers['x-forwarded-proto']).toBe('http');
    expect(seen?.headers['x-forwarded-for']).toContain('127.0.0.1');
    expect(seen?.headers['x-request-id']).toMatch(/[0-9a-f-]{36}/);
    const r = await fetch(`${t.proxyUrl}/from-h1`, { method: 'POST', body: 'hello' });
    expect(r.status).toBe(200);
    const j = (await r.json()) as { backend: string; path: string; bytes: number };
    expect(j).toMatchObject({ backend: 'h1', path: '/from-h1', bytes: 5 });
    expect(b.seen[1]?.headers[':method']).toBe('POST');
  });

  test('bodies both ways byte-exact, and trailers both ways (client to backend, backend to client)', async () => {
    const b = await startH2Backend('h1');
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const s = client(t.proxyUrl);
    const body = Buffer.alloc(3 * 1024 * 1024 + 17, 'z');
    for (let i = 0; i < body.length; i += 4099) body[i] = i % 251;
    const a = await h2Request(s, { ':method': 'POST', ':path': '/trailers' }, body, { 'x-client-trailer': 'ct' });
    expect(a.status).toBe(200);
    expect(a.body.toString()).toBe(`got ${body.length}`);
    expect(a.trailers?.['x-sum']).toBe(String(body.length));
    expect(a.trailers?.['x-backend']).toBe('h1');
    expect(b.seen[0]?.trailers?.['x-client-trailer']).toBe('ct');
    // Echo a large body back: byte-exact.
    const echo = await startH2Backend('echo', {
      handler: (stream) => {
        stream.respond({ ':status': 200 });
        stream.pipe(stream);
      },
    });
    const t2 = await startTestTurnout(webService({ blue: [echo] }, h2));
    const s2 = client(t2.proxyUrl);
    const back = await h2Request(s2, { ':method': 'PUT', ':path': '/echo' }, body);
    expect(back.body.equals(body)).toBe(true);
  });

  test('backpressure: a client that reads slowly stops the backend (flow control through turnout), nothing is lost', async () => {
    const total = 16 * 1024 * 1024;
    let written = 0;
    const b = await startH2Backend('h1', {
      handler: (stream) => {
        stream.respond({ ':status': 200 });
        const piece = Buffer.alloc(16 * 1024, 'p');
        const more = (): void => {
          while (written < total) {
            written += piece.length;
            if (!stream.write(piece)) return void stream.once('drain', more);
          }
          stream.end();
        };
        more();
      },
    });
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const s = client(t.proxyUrl);
    const req = s.request({ ':path': '/big' }, { endStream: true });
    req.pause();
    await new Promise((r) => setTimeout(r, 1500));
    // Nobody read: the backend may be ahead by the windows and buffers on the way, not by the body.
    const aheadWhilePaused = written;
    let read = 0;
    let maxAhead = 0;
    await new Promise<void>((resolve, reject) => {
      req.on('data', (d: Buffer) => {
        read += d.length;
        maxAhead = Math.max(maxAhead, written - read);
      });
      req.on('end', () => resolve());
      req.on('error', reject);
      req.resume();
    });
    expect(read).toBe(total);
    expect(aheadWhilePaused).toBeLessThan(4 * 1024 * 1024);
    expect(maxAhead).toBeLessThan(4 * 1024 * 1024);
  });

  test("streams spread over sessions up to the backend's SETTINGS_MAX_CONCURRENT_STREAMS; a new session when full", async () => {
    const b = await startH2Backend('h1', { maxConcurrentStreams: 4 });
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const s = client(t.proxyUrl);
    // Warm one session so its SETTINGS are known.
    await h2Request(s, { ':path': '/warm' });
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => h2Request(s, { ':path': `/slow?ms=300&i=${i}` })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(b.maxPerSession).toBeLessThanOrEqual(4);
    expect(b.sessions).toBeGreaterThanOrEqual(4);
  });

  test('a session the backend sends GOAWAY on takes no new stream: the next requests open a new one and none fails', async () => {
    const b = await startH2Backend('h1');
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const s = client(t.proxyUrl);
    expect((await h2Request(s, { ':path': '/one' })).status).toBe(200);
    expect(b.sessions).toBe(1);
    for (const sess of b.open) sess.goaway(http2.constants.NGHTTP2_NO_ERROR);
    await new Promise((r) => setTimeout(r, 100));
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => h2Request(s, { ':path': `/after/${i}` })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(b.sessions).toBe(2);
  });

  test('a refused stream (REFUSED_STREAM: nothing processed) is sent again, even a POST with its body', async () => {
    let refuse = 3;
    const b = await startH2Backend('h1', {
      handler: (stream, seen, be) => {
        if (refuse-- > 0) return stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        defaultH2(stream, seen, be);
      },
    });
    const t = await startTestTurnout(webService({ blue: [b] }, h2));
    const s = client(t.proxyUrl);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => h2Request(s, { ':method': 'POST', ':path': `/p/${i}` }, Buffer.from(`data-${i}`))));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(answers.map((a) => (JSON.parse(a.body.toString()) as { bytes: number }).bytes)).toEqual(Array(6).fill(6));
    expect(b.seen.length).toBe(9);
  });

  test('a backend that refuses every stream: a GET goes to another backend (the engine retry)', async () => {
    const refusing = await startH2Backend('refuser', { handler: (stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM) });
    const good = await startH2Backend('good');
    const t = await startTestTurnout(webService({ blue: [refusing, good] }, h2));
    const s = client(t.proxyUrl);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => h2Request(s, { ':path': `/g/${i}` })));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(answers.every((a) => a.headers['x-backend'] === 'good')).toBe(true);
    expect(refusing.seen.length).toBeGreaterThan(0);
  });

  test('no backend listening: 502 upstream_error (connection refused) after the retry; the idle session closes', async () => {
    const b = await startH2Backend('h1');
    const t = await startTestTurnout(webService({ blue: [b] }, { ...h2, timeouts: { connect: '1s', response: '5s', idle: '300ms' } }));
    const s = client(t.proxyUrl);
    expect((await h2Request(s, { ':path': '/a' })).status).toBe(200);
    expect(b.open.size).toBe(1);
    await new Promise((r) => setTimeout(r, 1200));
    expect(b.open.size).toBe(0);
    await b.close();
    const a = await h2Request(s, { ':path': '/b' });
    expect(a.status).toBe(502);
    expect(a.headers['x-turnout-error']).toBe('upstream_error');
  });

  test.skipIf(!hasOpenssl())('https:// backends: h2 chosen by ALPN, the certificate verified (rejectUnauthorized false for a self-signed one)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnout-h2-tls-'));
    makeCert(join(dir, 'cert.pem'), join(dir, 'key.pem'));
    const server = http2.createSecureServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')), allowHTTP1: false });
    let alpn: string | false | undefined;
    server.on('stream', (stream) => {
      alpn = (stream.session?.socket as { alpnProtocol?: string | false } | undefined)?.alpnProtocol;
      stream.respond({ ':status': 200, 'x-proto': 'h2' });
      stream.end('secure');
    });
    server.on('sessionError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const strict = await startTestTurnout(webService({ blue: [{ id: 's1', url }] }, h2));
    const refused = await fetch(`${strict.proxyUrl}/`);
    expect(refused.status).toBe(502);
    const t = await startTestTurnout(webService({ blue: [{ id: 's1', url }] }, { ...h2, tls: { rejectUnauthorized: false } }));
    const r = await fetch(`${t.proxyUrl}/`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('secure');
    expect(alpn).toBe('h2');
  });

  test('hold works for streams: a request to an h2 service with no backend waits, and goes once one is registered', async () => {
    const t = await startTestTurnout(webService({ blue: [] }, { ...h2, hold: { timeout: '5s' } }));
    const s = client(t.proxyUrl);
    const waiting = h2Request(s, { ':path': '/held' });
    await new Promise((r) => setTimeout(r, 300));
    const b = await startH2Backend('late');
    expect((await api(t, 'POST', '/v1/services/web/pools/blue/backends', { id: b.id, url: b.url })).status).toBe(201);
    const a = await waiting;
    expect(a.status).toBe(200);
    expect(a.headers['x-backend']).toBe('late');
  });
});
