import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { clientAgent, get } from '../helpers/http.js';
import { countBy, runRequests } from '../helpers/load.js';
import { startTestTurnout } from '../helpers/turnout.js';

test('weights 3 and 1: eight sequential requests follow the exact EDF sequence a a b a a a b a', async () => {
  const a = await startBackend('a');
  const b = await startBackend('b');
  const t = await startTestTurnout(
    webService({
      blue: [
        { id: 'a', url: a.url, weight: 3 },
        { id: 'b', url: b.url, weight: 1 },
      ],
    }),
  );
  const agent = clientAgent(1);
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const res = await get(`${t.proxyUrl}/seq/${i}`, { agent });
    expect(res.status).toBe(200);
    seen.push(String(res.headers['x-backend']));
  }
  expect(seen.join('')).toBe('aabaaaba');
  expect([a.hits, b.hits]).toEqual([6, 2]);
});

test('weights 5, 3 and 2 over 2,000 concurrent requests: exactly 1,000 / 600 / 400', async () => {
  const a = await startBackend('a');
  const b = await startBackend('b');
  const c = await startBackend('c');
  const t = await startTestTurnout(
    webService({
      blue: [
        { id: 'a', url: a.url, weight: 5 },
        { id: 'b', url: b.url, weight: 3 },
        { id: 'c', url: c.url, weight: 2 },
      ],
    }),
  );
  // Concurrency changes the order requests arrive in, not the number of picks: each request is one
  // pick, so the counts are exact whole rounds of 10.
  const results = await runRequests(t.proxyUrl, { count: 2000, connections: 8, path: (i) => `/r/${i}` });
  expect(results).toHaveLength(2000);
  expect(results.filter((r) => r.status !== 200)).toEqual([]);
  const counts = countBy(results);
  expect(counts).toEqual({ a: 1000, b: 600, c: 400 });
  expect([a.hits, b.hits, c.hits]).toEqual([1000, 600, 400]);
});
