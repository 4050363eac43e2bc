import { expect, onTestFinished, test, vi } from 'vitest';
import { deadPort } from '../helpers/backends.js';
import { clientAgent, get } from '../helpers/http.js';
import { api, startTestTurnout } from '../helpers/turnout.js';

test('a request that fails on its retry too is an event with the reason, at most one a second per service', async () => {
  // The runtime spaces these events by Date.now. Frozen, the five failures below fall in one
  // second however slow the machine is; then the clock is moved on by hand.
  vi.useFakeTimers({ toFake: ['Date'] });
  onTestFinished(() => void vi.useRealTimers());
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

  // A second later the next failure is an event again, and it counts the ones held back.
  vi.setSystemTime(Date.now() + 1000);
  expect((await get(`${t.proxyUrl}/`, { agent })).status).toBe(502);
  const after = (await api(t, 'GET', '/v1/services/web/events')).body.events as { type: string; message: string }[];
  expect(after.filter((e) => e.type === 'retries_exhausted').map((e) => e.message)).toContainEqual(expect.stringMatching(/\(and 4 more in the last second\)$/));
});
