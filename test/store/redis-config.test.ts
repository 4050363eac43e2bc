import { describe, expect, test } from 'vitest';
import { describeStore, parseConfigText, redactUrl } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { connectedReplicas, replicaWaitOutcome } from '../../src/store/index.js';

const services = { web: { routes: [{ host: '*' }], pools: { blue: [] } } };
function problems(state: Record<string, unknown>): string[] {
  try {
    parseConfigText(JSON.stringify({ state, services }), 'x.json', {});
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
}

describe('state: redis combinations refused with the key path', () => {
  test.for([
    ['url and sentinels', { url: 'redis://127.0.0.1:1', sentinels: [{ host: '127.0.0.1', port: 2 }], name: 'm' }, /^state\.sentinels: give either state\.url or state\.sentinels, not both$/],
    ['sentinels without name', { sentinels: [{ host: '127.0.0.1', port: 2 }] }, /^state\.name: required with state\.sentinels/],
    ['neither url nor sentinels', {}, /^state\.url: required when state\.store is "redis"/],
    ['an unreadable TLS file', { url: 'rediss://127.0.0.1:1', tls: { ca: '/nonexistent/ca.pem' } }, /^state\.tls\.ca: cannot read the file: ENOENT$/],
    ['a certificate without its key', { url: 'rediss://127.0.0.1:1', tls: { cert: '/etc/hostname' } }, /^state\.tls\.key: required with state\.tls\.cert$/],
  ] as const)('%s', ([, state, expected]) => {
    const found = problems({ store: 'redis', ...state });
    expect(found.some((p) => expected.test(p)), found.join('\n')).toBe(true);
  });

  test('a sentinel config is accepted as it is', () => {
    const c = parseConfigText(JSON.stringify({ state: { store: 'redis', sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'm', password: 'pw' }, services }), 'x.json', {});
    expect(c.state.sentinels).toEqual([{ host: '127.0.0.1', port: 26379 }]);
    expect(describeStore(c.state)).toBe('redis via sentinels 127.0.0.1:26379 (primary m)');
  });

  test('a bad url is refused without echoing it (it may carry a password)', () => {
    const found = problems({ store: 'redis', url: 'http://app:s3cret@127.0.0.1:1' });
    expect(found.join('\n')).toMatch(/^state\.url: /m);
    expect(found.join('\n')).not.toContain('s3cret');
  });
});

test.for([
  ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
  ['rediss://app:s3cret@127.0.0.1:6380', 'rediss://app:***@127.0.0.1:6380'],
  ['redis://:s3cret@127.0.0.1:6379/2', 'redis://:***@127.0.0.1:6379/2'],
] as const)('redactUrl(%s) = %s', ([url, shown]) => {
  expect(redactUrl(url)).toBe(shown);
});

test.for([
  ['# Replication\r\nrole:master\r\nconnected_slaves:2\r\n', 2],
  ['# Replication\r\nrole:master\r\nconnected_slaves:0\r\n', 0],
  ['# Replication\r\nrole:slave\r\n', 0],
] as const)('connectedReplicas from INFO replication (%#)', ([info, n]) => {
  expect(connectedReplicas(info)).toBe(n);
});

test('replicaWaitOutcome: 1 acknowledgement is durable; 0 is a 503 saying the write may stand', () => {
  expect(replicaWaitOutcome(1, 7, 1000)).toBeUndefined();
  expect(replicaWaitOutcome(0, 7, 1000)).toMatch(/revision 7 .* may stand; the revision tells/);
});
