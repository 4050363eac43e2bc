import { describe, expect, test } from 'vitest';
import { formatCheck } from '../../src/cli/rollout.js';
import { parseConfigText } from '../../src/config/index.js';

const services = 'services:\n  web:\n    routes: [{host: "*"}]\n    pools: {blue: [], green: []}\n';

describe('rollouts.prometheus in the config', () => {
  test('url and timeout are read; the timeout defaults to 5s; no section: no key', () => {
    expect(parseConfigText(`rollouts:\n  prometheus: {url: "http://127.0.0.1:9090", timeout: 2s}\n${services}`, 'c.yaml', {}).rollouts).toEqual({
      prometheus: { url: 'http://127.0.0.1:9090', timeoutMs: 2000 },
    });
    expect(parseConfigText(`rollouts:\n  prometheus: {url: "https://prom.internal/"}\n${services}`, 'c.yaml', {}).rollouts?.prometheus?.timeoutMs).toBe(5000);
    expect(parseConfigText(services, 'c.yaml', {}).rollouts).toBeUndefined();
  });

  test.each([
    ['a non-http url', 'rollouts:\n  prometheus: {url: "ftp://127.0.0.1:9090"}\n', /rollouts\.prometheus\.url: Expected string to match/],
    ['a url with a query string', 'rollouts:\n  prometheus: {url: "http://127.0.0.1:9090/?x=1"}\n', /rollouts\.prometheus\.url: Expected string to match/],
    ['an unknown key', 'rollouts:\n  grafana: {}\n', /rollouts/],
  ])('%s is refused naming the key', (_name, yaml, message) => {
    expect(() => parseConfigText(`${yaml}${services}`, 'c.yaml', {})).toThrow(message);
  });
});

describe('turnout rollout: a check in words', () => {
  test('readings against their bounds, the baseline side by side, metrics and webhook answers', () => {
    const line = formatCheck(
      {
        step: 2,
        percent: 25,
        passed: false,
        reason: 'error rate 10% of canary vs 1% of stable: increase 9% above maxErrorRateIncrease 1%',
        readings: {
          canary: { requests: 200, errors: 20, p99Ms: 40 },
          stable: { requests: 600, errors: 6, p99Ms: 30 },
          metrics: [{ name: 'success', value: 0.9, min: 0.95 }],
          webhooks: [{ name: 'smoke', type: 'rollout', status: 200 }],
        },
      },
      { maxP99Ms: 500, baseline: { maxErrorRateIncrease: 0.01, maxP99Ratio: 1.5 } },
    );
    expect(line).toBe(
      'check step 2 (25%): FAILED · canary 200 req, err 10%, p99 40ms (p99 max 500ms) · stable 600 req, err 1%, p99 30ms (increase max 1%, p99 ratio max 1.5)' +
        ' · success = 0.9 (min 0.95) · rollout "smoke" 200 · error rate 10% of canary vs 1% of stable: increase 9% above maxErrorRateIncrease 1%',
    );
  });
});
