import { expect, test } from 'vitest';
import { api, startTestTurnout } from '../helpers/turnout.js';

test('a value failing a pattern is described in words, not as a regular expression', async () => {
  const t = await startTestTurnout({ services: { web: { routes: [{ host: '*' }], pools: { blue: [], green: [] } } } });
  const url = await api(t, 'POST', '/v1/services/web/pools/green/backends', { id: 'g1', url: 'ftp://x' });
  expect(url.status).toBe(400);
  expect(url.body.error.message).toBe('body/url must be http://host:port or https://host:port');
  const dur = await api(t, 'POST', '/v1/services/web/rollouts', { pool: 'green', steps: [5], stepDuration: 'soon' });
  expect(dur.body.error.message).toBe('body/stepDuration must be duration such as "500ms", "2s", "1m"');
  const name = await api(t, 'POST', '/v1/services/web/pools/green/backends', { id: 'has space', url: 'http://127.0.0.1:1' });
  expect(name.body.error.message).toBe('body/id must be name: letters, digits, _ . -');
});
