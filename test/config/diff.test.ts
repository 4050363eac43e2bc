import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { diffConfig, keepUnchanged, parseConfigText } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';

const base = {
  listen: { host: '127.0.0.1', port: 8080 },
  admin: { host: '127.0.0.1', port: 9901, token: 'secret' },
  state: { store: 'memory' },
  services: {
    web: {
      routes: [{ host: '*', pathPrefix: '/' }],
      pools: { blue: [{ id: 'b1', url: 'http://127.0.0.1:3001' }], green: [] },
      healthCheck: { path: '/health', interval: '5s' },
    },
  },
};

/** `base` with `edit` applied to a deep copy, parsed as a file would be. */
function config(edit: (doc: typeof base & Record<string, unknown>) => void = () => undefined): Config {
  const doc = structuredClone(base) as typeof base & Record<string, unknown>;
  edit(doc);
  return parseConfigText(stringify(doc), 'turnout.yaml', {});
}

const svc = (d: typeof base): Record<string, Record<string, unknown>> => d.services as unknown as Record<string, Record<string, unknown>>;

describe('diffConfig: what a reload changes, in the file\'s words', () => {
  test.each<[string, (d: typeof base & Record<string, unknown>) => void, unknown[]]>([
    ['the same file: nothing', () => undefined, []],
    [
      'a service added with its own host route',
      (d) => (svc(d).api = { routes: [{ host: 'api.example.com' }], pools: { main: [{ id: 'a1', url: 'http://127.0.0.1:4001' }] } }),
      [{ kind: 'service_added', service: 'api' }],
    ],
    ['a service removed', (d) => (d.services = { other: svc(d).web } as never), [{ kind: 'service_added', service: 'other' }, { kind: 'service_removed', service: 'web' }]],
    [
      'a health-check interval',
      (d) => (svc(d).web!.healthCheck = { path: '/health', interval: '1s' }),
      [{ kind: 'setting_changed', service: 'web', path: 'healthCheck.interval', from: '5s', to: '1s' }],
    ],
    ['a health check removed: one change on the section', (d) => delete svc(d).web!.healthCheck, [{ kind: 'setting_changed', service: 'web', path: 'healthCheck', from: true, to: false }]],
    ['outlier detection off', (d) => (svc(d).web!.outlier = false), [{ kind: 'setting_changed', service: 'web', path: 'outlier', from: true, to: false }]],
    [
      'timeouts, drain, sticky, headerOverride, preserveHost',
      (d) => Object.assign(svc(d).web!, { timeouts: { connect: '500ms' }, drain: { timeout: '10s' }, sticky: true, headerOverride: true, preserveHost: false }),
      [
        { kind: 'setting_changed', service: 'web', path: 'drain.timeout', from: '30s', to: '10s' },
        { kind: 'setting_changed', service: 'web', path: 'sticky', from: false, to: true },
        { kind: 'setting_changed', service: 'web', path: 'headerOverride', from: false, to: true },
        { kind: 'setting_changed', service: 'web', path: 'preserveHost', from: true, to: false },
        { kind: 'setting_changed', service: 'web', path: 'timeouts.connect', from: '2s', to: '500ms' },
      ],
    ],
    ['a route', (d) => (svc(d).web!.routes = [{ host: 'www.example.com' }]), [{ kind: 'setting_changed', service: 'web', path: 'routes', from: [{ host: '*', pathPrefix: '/' }], to: [{ host: 'www.example.com', pathPrefix: '/' }] }]],
    ['seeded backends and split: the store owns them, no change', (d) => (svc(d).web!.pools = { blue: [{ id: 'b9', url: 'http://127.0.0.1:3009' }], green: [] }), []],
    [
      'listener port and header limit',
      (d) => (d.listen = { host: '127.0.0.1', port: 8081, maxHeaderSize: 8192 } as never),
      [
        { kind: 'listen_changed', path: 'listen.port', from: 8080, to: 8081 },
        { kind: 'listen_changed', path: 'listen.maxHeaderSize', from: 16384, to: 8192 },
      ],
    ],
    ['shutdown timeout', (d) => (d.shutdown = { timeout: '5s' }), [{ kind: 'shutdown_changed', path: 'shutdown.timeout', from: '30s', to: '5s' }]],
    ['admin port: only a restart applies it', (d) => (d.admin.port = 9902), [{ kind: 'restart_required', path: 'admin.port', from: 9901, to: 9902 }]],
    ['admin token: compared, never shown', (d) => (d.admin.token = 'other'), [{ kind: 'restart_required', path: 'admin.tokens', from: '(hidden)', to: '(hidden)' }]],
    ['state store', (d) => (d.state = { store: 'file' }), [{ kind: 'restart_required', path: 'state.store', from: 'memory', to: 'file' }]],
  ])('%s', (_name, edit, expected) => {
    expect(diffConfig(config(), config(edit))).toEqual(expected);
  });

  test('keepUnchanged keeps the served object of every service the reload did not touch', () => {
    const prev = config((d) => (svc(d).api = { routes: [{ host: 'api' }], pools: { main: [] } }));
    const next = config((d) => {
      svc(d).api = { routes: [{ host: 'api' }], pools: { main: [] } };
      svc(d).web!.sticky = true;
    });
    const merged = keepUnchanged(prev, next, diffConfig(prev, next));
    expect(merged.services.api).toBe(prev.services.api);
    expect(merged.services.web).toBe(next.services.web);
  });
});
