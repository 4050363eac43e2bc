import { expect, test } from 'vitest';
import type { StateSnapshot } from '../../src/model/index.js';
import { MemoryStore } from '../../src/store/index.js';
import { startBackend } from '../helpers/backends.js';
import { get } from '../helpers/http.js';
import { api, startTestTurnout } from '../helpers/turnout.js';
import { expectError } from '../helpers/admin.js';

/** A memory store whose writes fail like an unreachable store while `down` is set. */
class FlakyStore extends MemoryStore {
  down = false;

  override async write(next: StateSnapshot, expectedRevision: number): Promise<void> {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    return super.write(next, expectedRevision);
  }
}

test('writes answer 503 store_unavailable while the store is down, change nothing, and work again once it is back', async () => {
  const blue = await startBackend('blue-1');
  const green = await startBackend('green-1');
  const store = new FlakyStore();
  const t = await startTestTurnout(
    { services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'blue-1', url: blue.url }], green: [{ id: 'green-1', url: green.url }] } } } },
    { store },
  );
  const before = await api(t, 'GET', '/v1/services');
  store.down = true;
  const writes = [
    await api(t, 'POST', '/v1/services/web/flip', { to: 'green' }),
    await api(t, 'POST', '/v1/services/web/canary', { pool: 'green', percent: 5 }),
    await api(t, 'POST', '/v1/services/web/pools/green/backends', { id: 'green-2', url: 'http://127.0.0.1:9' }),
    await api(t, 'PATCH', '/v1/services/web/pools/blue/backends/blue-1', { weight: 5 }),
    await api(t, 'DELETE', '/v1/services/web/pools/blue/backends/blue-1'),
  ];
  for (const w of writes) expectError(w, 503, 'store_unavailable');
  // Reads and traffic go on with the last state.
  expect((await api(t, 'GET', '/v1/services')).body).toEqual(before.body);
  expect(JSON.parse((await get(`${t.proxyUrl}/`)).text).backend).toBe('blue-1');
  // A dry run does not write, so it still answers.
  expect((await api(t, 'POST', '/v1/services/web/flip?dryRun=true', { to: 'green' })).status).toBe(200);

  store.down = false;
  const ok = await api(t, 'POST', '/v1/services/web/flip', { to: 'green' });
  expect(ok.status).toBe(200);
  expect(ok.body.revision).toBe(before.body.revision + 1);
  expect(JSON.parse((await get(`${t.proxyUrl}/`)).text).backend).toBe('green-1');
});
