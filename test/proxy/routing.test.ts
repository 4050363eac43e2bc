import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { clientAgent, get } from '../helpers/http.js';
import { startTestTurnout } from '../helpers/turnout.js';
import type { Turnout } from '../../src/app.js';

/** Which service answered: every backend here is named after its service. */
async function routeOf(t: Turnout, host: string, path: string): Promise<string> {
  const res = await get(`${t.proxyUrl}${path}`, { headers: { host }, agent: agentFor(t) });
  return res.status === 200 ? String(res.headers['x-backend']) : `${res.status} ${String(res.headers['x-turnout-error'])}`;
}

const agents = new WeakMap<Turnout, ReturnType<typeof clientAgent>>();
function agentFor(t: Turnout): ReturnType<typeof clientAgent> {
  let a = agents.get(t);
  if (a === undefined) {
    a = clientAgent(1);
    agents.set(t, a);
  }
  return a;
}

/** One service per route, each with one backend named after it. */
async function routed(routes: Record<string, { host: string; pathPrefix: string }[]>): Promise<Turnout> {
  const services: Record<string, unknown> = {};
  for (const [name, rs] of Object.entries(routes)) {
    const b = await startBackend(name);
    services[name] = { routes: rs, pools: { blue: [{ id: name, url: b.url }] }, outlier: false };
  }
  return startTestTurnout({ services });
}

test('the longest path prefix wins, on segment boundaries: /api does not match /apix', async () => {
  const t = await routed({
    site: [{ host: '*', pathPrefix: '/' }],
    api: [{ host: '*', pathPrefix: '/api' }],
    v2: [{ host: '*', pathPrefix: '/api/v2' }],
    assets: [{ host: '*', pathPrefix: '/static/' }],
  });
  const cases: [string, string][] = [
    ['/', 'site'],
    ['/index.html', 'site'],
    ['/api', 'api'],
    ['/api/', 'api'],
    ['/api/users', 'api'],
    ['/api?q=1', 'api'],
    ['/apix', 'site'],
    ['/api-docs', 'site'],
    ['/api/v2', 'v2'],
    ['/api/v2/users', 'v2'],
    ['/api/v20', 'api'],
    ['/static/app.js', 'assets'],
    ['/static', 'site'],
  ];
  const got: [string, string][] = [];
  for (const [path] of cases) got.push([path, await routeOf(t, 'any.example', path)]);
  expect(got).toEqual(cases);
});

test('an exact host beats a wildcard host, which beats "*", whatever the path lengths', async () => {
  const t = await routed({
    any: [{ host: '*', pathPrefix: '/' }],
    anyapi: [{ host: '*', pathPrefix: '/api' }],
    wild: [{ host: '*.example.com', pathPrefix: '/' }],
    deep: [{ host: '*.eu.example.com', pathPrefix: '/' }],
    exact: [{ host: 'shop.example.com', pathPrefix: '/' }],
  });
  const cases: [string, string, string][] = [
    ['shop.example.com', '/', 'exact'],
    ['shop.example.com', '/api/x', 'exact'],
    ['SHOP.Example.COM', '/', 'exact'],
    ['shop.example.com:8080', '/', 'exact'],
    ['blog.example.com', '/', 'wild'],
    ['blog.example.com', '/api', 'wild'],
    ['a.b.example.com', '/', 'wild'],
    ['x.eu.example.com', '/', 'deep'],
    // the bare domain is not under "*.example.com"
    ['example.com', '/', 'any'],
    ['example.com', '/api', 'anyapi'],
    ['notexample.com', '/', 'any'],
    ['other.test', '/api/x', 'anyapi'],
  ];
  const got: [string, string, string][] = [];
  for (const [host, path] of cases) got.push([host, path, await routeOf(t, host, path)]);
  expect(got).toEqual(cases);
});

test('with no "*" route, a host that matches nothing gets 404 no_route', async () => {
  const t = await routed({
    wild: [{ host: '*.example.com', pathPrefix: '/' }],
    exact: [{ host: 'api.test', pathPrefix: '/v1' }],
  });
  expect(await routeOf(t, 'a.example.com', '/')).toBe('wild');
  expect(await routeOf(t, 'api.test', '/v1/x')).toBe('exact');
  expect(await routeOf(t, 'api.test', '/v2')).toBe('404 no_route');
  expect(await routeOf(t, 'example.com', '/')).toBe('404 no_route');
  expect(await routeOf(t, 'other.test', '/')).toBe('404 no_route');
});
