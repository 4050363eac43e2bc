import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { get } from '../helpers/http.js';
import { startTestTurnout } from '../helpers/turnout.js';

test('a request reaches the backend through the proxy and X-Forwarded-For is appended', async () => {
  const b = await startBackend('b1');
  const t = await startTestTurnout({
    services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'b1', url: b.url }] } } },
  });
  const res = await get(`${t.proxyUrl}/hello`, { headers: { 'x-forwarded-for': '10.0.0.1' } });
  expect(res.status).toBe(200);
  const body = JSON.parse(res.text);
  expect(body.backend).toBe('b1');
  expect(body.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
  expect(body.headers['x-forwarded-proto']).toBe('http');
  expect(body.headers['x-request-id']).toMatch(/[0-9a-f-]{36}/);
});
