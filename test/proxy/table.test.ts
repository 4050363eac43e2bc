import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { buildServiceTable, pathMatches, RoutingTable } from '../../src/proxy/table.js';

function table(routes: Record<string, { host?: string; pathPrefix?: string }[]>): RoutingTable {
  const services: Record<string, unknown> = {};
  for (const [name, r] of Object.entries(routes)) services[name] = { routes: r, pools: { p: [] } };
  const config = parseConfigText(JSON.stringify({ services }), 't.json', {});
  const map = new Map(Object.values(config.services).map((s) => [s.name, buildServiceTable({ settings: s, split: s.seedSplit, pools: [] })]));
  return new RoutingTable(1, map);
}

describe('routing table', () => {
  const t = table({
    any: [{ host: '*', pathPrefix: '/' }],
    api: [{ host: '*', pathPrefix: '/api' }],
    apiV2: [{ host: '*', pathPrefix: '/api/v2' }],
    shop: [{ host: 'shop.example.com', pathPrefix: '/' }],
    wild: [{ host: '*.example.com', pathPrefix: '/' }],
    deepWild: [{ host: '*.eu.example.com', pathPrefix: '/' }],
  });

  test.each([
    ['x.test', '/', 'any'],
    ['x.test', '/api', 'api'],
    ['x.test', '/api/users', 'api'],
    ['x.test', '/api?x=1', 'api'],
    ['x.test', '/apix', 'any'],
    ['x.test', '/api/v2/users', 'apiV2'],
    ['shop.example.com', '/api', 'shop'],
    ['a.example.com', '/', 'wild'],
    ['example.com', '/', 'any'],
    ['a.eu.example.com', '/', 'deepWild'],
  ])('%s %s → %s', (host, path, svc) => {
    expect(t.match(host, path)?.name).toBe(svc);
  });

  test('no route', () => {
    const only = table({ shop: [{ host: 'shop.example.com', pathPrefix: '/' }] });
    expect(only.match('other.test', '/')).toBeUndefined();
  });

  test.each([
    ['/', '/anything', true],
    ['/api/', '/api/x', true],
    ['/api/', '/api', false],
    ['/api', '/api', true],
    ['/api', '/ap', false],
  ])('pathMatches(%s, %s) = %s', (prefix, path, ok) => {
    expect(pathMatches(path, prefix)).toBe(ok);
  });
});
