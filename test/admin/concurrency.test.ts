import { expect, test } from 'vitest';
import { api } from '../helpers/turnout.js';
import { expectError, startPools } from '../helpers/admin.js';

test('20 concurrent writes with the same If-Match: exactly one 200, the other 19 get 412, one history entry', async () => {
  const { t } = await startPools({ blue: ['blue-1'], green: ['green-1'] });
  const g = await api(t, 'GET', '/v1/services/web');
  const etag = g.headers.get('etag') as string;
  const writes = Array.from({ length: 20 }, (_, i) =>
    i % 2 === 0
      ? api(t, 'PUT', '/v1/services/web/split', { split: { blue: 100 - i, green: i } }, { 'if-match': etag })
      : api(t, 'PATCH', '/v1/services/web/pools/green/backends/green-1', { weight: i }, { 'if-match': etag }),
  );
  const answers = await Promise.all(writes);
  const ok = answers.filter((a) => a.status === 200);
  expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array(19).fill(412)]);
  for (const a of answers) if (a.status !== 200) expectError(a, 412, 'revision_mismatch');
  expect(ok[0]?.body.revision).toBe(2);
  expect(ok[0]?.headers.get('etag')).toBe('"2"');
  const after = await api(t, 'GET', '/v1/services/web/history');
  expect(after.body.revision).toBe(2);
  expect(after.body.history).toHaveLength(1);
});

test('20 concurrent writes without If-Match are serialised: all accepted, revisions 2..21 each once', async () => {
  const { t } = await startPools({ blue: ['blue-1'], green: ['green-1'] });
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => api(t, 'PATCH', '/v1/services/web/pools/blue/backends/blue-1', { weight: i + 1 })),
  );
  expect(answers.every((a) => a.status === 200)).toBe(true);
  const revisions = answers.map((a) => a.body.revision as number).sort((a, b) => a - b);
  expect(revisions).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  for (const a of answers) expect(a.headers.get('etag')).toBe(`"${a.body.revision}"`);
  // The last accepted write is the state now.
  const last = answers.find((a) => a.body.revision === 21);
  const now = await api(t, 'GET', '/v1/services/web/pools/blue/backends/blue-1');
  expect(now.body).toEqual({ revision: 21, backend: last?.body.backend });
});
