import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, onTestFinished, test } from 'vitest';
import { stringify } from 'yaml';
import { startTurnout } from '../../src/app.js';
import { parseConfigText } from '../../src/config/index.js';
import { startBackend } from '../helpers/backends.js';
import { clientAgent, get } from '../helpers/http.js';

async function withLogs(log: Record<string, unknown>): Promise<{ proxyUrl: string; lines: Record<string, unknown>[] }> {
  const b = await startBackend('b1');
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const config = parseConfigText(
    stringify({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0, token: 't' },
      state: { store: 'memory' },
      log,
      services: { web: { routes: [{ host: '*' }], pools: { blue: [{ id: 'b1', url: b.url }] } } },
    }),
    'log.yaml',
    {},
  );
  const t = await startTurnout(config, { logger: pino({ level: 'info' }, sink) });
  onTestFinished(() => t.stop(100).then(() => undefined));
  return { proxyUrl: t.proxyUrl, lines };
}

test('no access log by default: no line per request', async () => {
  const { proxyUrl, lines } = await withLogs({ level: 'info' });
  const agent = clientAgent(1);
  const before = lines.length;
  for (let i = 0; i < 20; i++) await get(`${proxyUrl}/x`, { agent });
  expect(lines.slice(before).filter((l) => l.msg === 'access')).toEqual([]);
});

test('log.access: one JSON line per request with method, url, status, service, pool, backend and time; request data escaped', async () => {
  const { proxyUrl, lines } = await withLogs({ level: 'info', access: true });
  const agent = clientAgent(1);
  await get(`${proxyUrl}/a?q="quoted"%0Anewline`, { agent });
  const access = lines.filter((l) => l.msg === 'access');
  expect(access).toHaveLength(1);
  expect(access[0]).toMatchObject({ method: 'GET', url: '/a?q=%22quoted%22%0Anewline', status: 200, service: 'web', pool: 'blue', backend: 'b1' });
  expect(typeof access[0]?.ms).toBe('number');
});

test('log.accessSample: about that share of requests is logged', async () => {
  const { proxyUrl, lines } = await withLogs({ level: 'info', access: true, accessSample: 0.1 });
  const agent = clientAgent(4);
  await Promise.all(Array.from({ length: 1000 }, () => get(`${proxyUrl}/`, { agent })));
  const n = lines.filter((l) => l.msg === 'access').length;
  // Binomial(1000, 0.1): mean 100, sd 9.5; ±5 sd.
  expect(n).toBeGreaterThan(52);
  expect(n).toBeLessThan(148);
});
