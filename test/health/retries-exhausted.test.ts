import { expect, test } from 'vitest';
import { deadPort } from '../helpers/backends.js';
import { clientAgent, get } from '../helpers/http.js';
import { api, startTestTurnout } from '../helpers/turnout.js';

test('a request that fails on its retry too is an event with the reason, at most one a second per service', async () => {
  const [p1, p2] = [await deadPort(), await deadPort()];
  const t = await startTestTurnout({
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { blue: [{ id: 'dead-1', url: `http://127.0.0.1:${p1}` }, { id: 'dead-2', url: `http://127.0.0.1:${p2}` }] },
        outlier: false,
      },
    },
  });
  const agent = clientAgent(2);
  for (let i = 0; i < 5; i++) {
    const r = await get(`${t.proxyUrl}/`, { agent });
    expect(r.status).toBe(502);
    expect(r.headers['x-turnout-error']).toBe('upstream_error');
  }
  const events = (await api(t, 'GET', '/v1/services/web/events')).body.events as { type: string; message: string; details: { reason: string } }[];
  const exhausted = events.filter((e) => e.type === 'retries_exhausted');
  expect(exhausted).toHaveLength(1);
  expect(exhausted[0]?.message).toMatch(/request failed after its retry: connect_refused on dead-\d/);
});
