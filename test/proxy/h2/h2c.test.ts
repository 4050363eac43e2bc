import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import { promisify } from 'node:util';
import { describe, expect, onTestFinished, test } from 'vitest';
import { startBackend } from '../../helpers/backends.js';
import { webService } from '../../helpers/config.js';
import { startTestTurnout } from '../../helpers/turnout.js';

const run = promisify(execFile);

describe('HTTP/2 with prior knowledge (h2c) on the plain listener', () => {
  test('curl --http2-prior-knowledge and HTTP/1.1 get the same answer from the backend on one port', async () => {
    const b = await startBackend('b1');
    const t = await startTestTurnout(webService({ blue: [b] }));
    const h2 = await run('curl', ['-s', '--http2-prior-knowledge', '-D', '-', `${t.proxyUrl}/x`], { timeout: 10_000 });
    expect(h2.stdout).toMatch(/^HTTP\/2 200/);
    expect(h2.stdout).toContain('"backend":"b1"');
    expect(h2.stdout).toContain('x-forwarded-proto');
    const h1 = await run('curl', ['-s', '--http1.1', `${t.proxyUrl}/x`], { timeout: 10_000 });
    expect(h1.stdout).toContain('"backend":"b1"');
  });

  test('a node:http2 client: many streams on one session, each one request to the backend', async () => {
    const b = await startBackend('b1');
    const t = await startTestTurnout(webService({ blue: [b] }));
    const session = http2.connect(t.proxyUrl);
    onTestFinished(() => void session.close());
    const one = (path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = session.request({ ':path': path });
        let status = 0;
        let body = '';
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => resolve({ status, body }));
        req.on('error', reject);
        req.end();
      });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => one(`/n/${i}`)));
    expect(answers.every((a) => a.status === 200 && a.body.includes('"backend":"b1"'))).toBe(true);
    expect(answers).toHaveLength(50);
    expect(b.hits).toBe(50);
  });
});
