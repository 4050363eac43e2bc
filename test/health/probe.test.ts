import { expect, onTestFinished, test } from 'vitest';
import { HealthChecker } from '../../src/health/index.js';
import type { CheckTarget } from '../../src/health/index.js';
import { deadPort, startBackend } from '../helpers/backends.js';

const SETTINGS = { path: '/health', intervalMs: 1000, timeoutMs: 200, healthyThreshold: 2, unhealthyThreshold: 3, expectStatusMin: 200, expectStatusMax: 399 };

function checker(): HealthChecker {
  const c = new HealthChecker(() => undefined);
  onTestFinished(() => c.close());
  return c;
}

const target = (url: string): CheckTarget => ({ key: 'web\u0000b1', url, settings: SETTINGS, rejectUnauthorized: true });

// Guards the probe's use of classifyUpstreamError: what a failed probe says is what the event log shows.
test.each([
  ['a passing status', async () => (await startBackend('b1')).url, { passed: true, detail: 'status 200' }],
  ['a failing status', async () => {
    const b = await startBackend('b1');
    b.healthStatus = 503;
    return b.url;
  }, { passed: false, detail: 'status 503' }],
  ['a refused connection', async () => `http://127.0.0.1:${await deadPort()}`, { passed: false, detail: 'ECONNREFUSED' }],
  ['a backend that never answers', async () => {
    const b = await startBackend('b1');
    b.server.removeAllListeners('request');
    b.server.on('request', () => undefined);
    return b.url;
  }, { passed: false, detail: 'timeout after 200ms' }],
])('a probe of %s', async (_name, url, expected) => {
  expect(await checker().probe(target(await url()))).toEqual(expected);
});
