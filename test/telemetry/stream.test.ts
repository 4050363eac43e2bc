import { describe, expect, test } from 'vitest';
import { request } from 'undici';
import { startBackend } from '../helpers/backends.js';
import { clientAgent, get } from '../helpers/http.js';
import { readSnapshots } from '../helpers/sse.js';
import { READ_TOKEN, startTestTurnout } from '../helpers/turnout.js';

describe('GET /v1/stream', () => {
  test('needs a token, then sends a traffic snapshot per second with per-pool and per-backend figures', async () => {
    const b1 = await startBackend('b1');
    const t = await startTestTurnout({
      services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'b1', url: b1.url }], green: [] }, split: { blue: 100 } } },
    });
    expect((await fetch(`${t.adminUrl}/v1/stream`)).status).toBe(401);
    const agent = clientAgent(2);
    for (let i = 0; i < 50; i++) await get(`${t.proxyUrl}/`, { agent });
    const res = await request(`${t.adminUrl}/v1/stream`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    const started = Date.now();
    const events = await readSnapshots<unknown>(res.body, (_, all) => all.length >= 3, 10_000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThan(1500); // one a second
    const snap = events[0] as {
      revision: number;
      services: { name: string; split: Record<string, number>; pools: { name: string; split: number; rps: number; inFlight: number; p99Ms: number; backends: { id: string; rps: number; health: string; state: string }[] }[] }[];
    };
    expect(snap.revision).toBe(1);
    const web = snap.services[0];
    expect(web?.name).toBe('web');
    expect(web?.split).toEqual({ blue: 100, green: 0 });
    const blue = web?.pools.find((p) => p.name === 'blue');
    expect(blue?.split).toBe(100);
    expect(blue?.rps).toBeGreaterThan(0);
    expect(blue?.p99Ms).toBeGreaterThan(0);
    expect(blue?.backends[0]).toMatchObject({ id: 'b1', state: 'active', health: 'unknown' });
    expect(blue?.backends[0]?.rps).toBeCloseTo(50 / 5, 0);
  });
});
