import { expect, test } from 'vitest';
import { get } from '../helpers/http.js';
import { READ_TOKEN, TOKEN, api } from '../helpers/turnout.js';
import { apiAs, expectError, expectEtag, expectServiceShape, startPools, until } from '../helpers/admin.js';

const WEB = { blue: ['blue-1', 'blue-2'], green: ['green-1'] };
const SOLO = (url: string): Record<string, unknown> => ({
  solo: { routes: [{ host: '*', pathPrefix: '/solo' }], pools: { main: [{ id: 'solo-1', url }] } },
});

test('GET /v1/services answers {revision, services} with every pool, split and backend, and the ETag', async () => {
  const { t, backends } = await startPools(WEB, {}, SOLO('http://127.0.0.1:1'));
  const res = await api(t, 'GET', '/v1/services');
  expect(res.status).toBe(200);
  expect(Object.keys(res.body).sort()).toEqual(['revision', 'services']);
  expect(res.body.revision).toBe(1);
  expectEtag(res, 1);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body.services.map((s: { name: string }) => s.name)).toEqual(['web', 'solo']);
  for (const s of res.body.services) expectServiceShape(s);
  const web = res.body.services[0];
  expect(web.split).toEqual({ blue: 100, green: 0 });
  expect(Object.keys(web.pools)).toEqual(['blue', 'green']);
  expect(web.pools.blue.backends).toEqual([
    { id: 'blue-1', url: backends['blue-1']?.url, weight: 100, effectiveWeight: 100, state: 'active', health: 'unknown', ejected: false, inFlight: 0 },
    { id: 'blue-2', url: backends['blue-2']?.url, weight: 100, effectiveWeight: 100, state: 'active', health: 'unknown', ejected: false, inFlight: 0 },
  ]);
  expect(res.body.services[1]).toMatchObject({ name: 'solo', split: { main: 100 } });
});

test('GET /v1/services/:svc answers {revision, service}; 404 not_found for an unknown service; read tokens may read', async () => {
  const { t } = await startPools(WEB);
  const res = await api(t, 'GET', '/v1/services/web');
  expect(res.status).toBe(200);
  expect(Object.keys(res.body).sort()).toEqual(['revision', 'service']);
  expectEtag(res, res.body.revision);
  expectServiceShape(res.body.service);
  expect(res.body.service.name).toBe('web');
  const all = await api(t, 'GET', '/v1/services');
  expect(res.body.service).toEqual(all.body.services[0]);

  const byReader = await apiAs(t, READ_TOKEN, 'GET', '/v1/services/web');
  expect(byReader.status).toBe(200);
  expect(byReader.body).toEqual(res.body);

  expectError(await api(t, 'GET', '/v1/services/nope'), 404, 'not_found');
  expectError(await api(t, 'GET', '/v1/services/bad name'), 400, 'invalid_request');
  expectError(await apiAs(t, undefined, 'GET', '/v1/services/web'), 401, 'unauthorized');
  expectError(await apiAs(t, 'not-the-token', 'GET', '/v1/services'), 401, 'unauthorized');
});

test('the in-flight count of a backend shows in GET while a request is on it', async () => {
  const { t } = await startPools(WEB);
  const slow = get(`${t.proxyUrl}/slow?ms=1000`);
  const inFlight = async (): Promise<number> => {
    const r = await api(t, 'GET', '/v1/services/web');
    return r.body.service.pools.blue.backends.reduce((n: number, b: { inFlight: number }) => n + b.inFlight, 0);
  };
  await until('the slow request counted in flight', async () => (await inFlight()) === 1);
  expect((await slow).status).toBe(200);
  expect(await inFlight()).toBe(0);
});

// Regression: the token check looked at the raw URL, so "/%76%31/services" (which the router decodes
// to /v1/services) was served, and written to, without any token.
test('a percent-encoded /v1 path still needs a token, and a read token still cannot write through it', async () => {
  const { t } = await startPools(WEB);
  const before = await api(t, 'GET', '/v1/services');
  expectError(await apiAs(t, undefined, 'GET', '/%76%31/services'), 401, 'unauthorized');
  expectError(await apiAs(t, undefined, 'POST', '/v%31/services/web/flip', { to: 'green' }), 401, 'unauthorized');
  expectError(await apiAs(t, READ_TOKEN, 'POST', '/%76%31/services/web/flip', { to: 'green' }), 403, 'forbidden');
  expect(await api(t, 'GET', '/v1/services')).toMatchObject({ status: 200, body: before.body });
  // With a token the encoded path is the same endpoint.
  expect((await apiAs(t, TOKEN, 'GET', '/%76%31/services')).body).toEqual(before.body);
});

test('/healthz and /readyz need no token; /readyz turns 503 once shutdown begins', async () => {
  const { t } = await startPools(WEB);
  const h = await apiAs(t, undefined, 'GET', '/healthz');
  expect(h).toMatchObject({ status: 200, body: { status: 'ok' } });
  const r = await apiAs(t, undefined, 'GET', '/readyz');
  expect(r).toMatchObject({ status: 200, body: { status: 'ready', revision: 1 } });

  // Keep a request in flight so the stop waits for it with the admin listener still up.
  const slow = get(`${t.proxyUrl}/slow?ms=1000`);
  await until('the slow request in flight', async () => {
    const s = await api(t, 'GET', '/v1/services/web');
    return s.body.service.pools.blue.backends.some((b: { inFlight: number }) => b.inFlight > 0);
  });
  const stopping = t.stop(5000);
  const during = await apiAs(t, undefined, 'GET', '/readyz');
  expect(during.status).toBe(503);
  expect(during.body).toEqual({ status: 'shutting_down' });
  expect((await apiAs(t, undefined, 'GET', '/healthz')).status).toBe(200);
  expect((await slow).status).toBe(200);
  await stopping;
});

test('/openapi.json is an OpenAPI 3 document listing the /v1 calls, every $ref resolving', async () => {
  const { t } = await startPools(WEB);
  const res = await apiAs(t, undefined, 'GET', '/openapi.json');
  expect(res.status).toBe(200);
  const doc = res.body;
  expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
  expect(typeof doc.info.title).toBe('string');
  expect(typeof doc.info.version).toBe('string');
  expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });

  const want: Record<string, string[]> = {
    '/v1/services': ['get'],
    '/v1/services/{svc}': ['get'],
    '/v1/services/{svc}/split': ['put'],
    '/v1/services/{svc}/flip': ['post'],
    '/v1/services/{svc}/canary': ['post'],
    '/v1/services/{svc}/rollback': ['post'],
    '/v1/services/{svc}/history': ['get'],
    '/v1/services/{svc}/events': ['get'],
    '/v1/services/{svc}/pools/{pool}/backends': ['post'],
    '/v1/services/{svc}/pools/{pool}/backends/{id}': ['delete', 'get', 'patch'],
  };
  for (const [path, methods] of Object.entries(want)) {
    expect(doc.paths[path], path).toBeDefined();
    for (const m of methods) expect(doc.paths[path][m], `${m} ${path}`).toBeDefined();
  }
  // Internal endpoints are not part of the API description.
  expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/v1/') && p !== '/metrics')).toEqual([]);

  const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    expect(path.startsWith('/')).toBe(true);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters' || method === 'summary' || method === 'description') continue;
      expect(METHODS.has(method), `${method} ${path}`).toBe(true);
      expect(Object.keys(op.responses ?? {}).length, `${method} ${path} responses`).toBeGreaterThan(0);
      for (const [code, r] of Object.entries(op.responses as Record<string, { description?: unknown }>)) {
        expect(code).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
        expect(typeof r.description, `${method} ${path} ${code} description`).toBe('string');
      }
      const pathParams = (op.parameters ?? []).filter((p: { in: string }) => p.in === 'path');
      expect(pathParams.map((p: { name: string }) => p.name).sort()).toEqual([...templated].sort());
      for (const p of pathParams) expect(p.required).toBe(true);
      for (const p of op.parameters ?? []) expect(['query', 'header', 'path', 'cookie']).toContain(p.in);
    }
  }
  // Every local $ref points at something in the document.
  const refs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') refs.push(x);
        else walk(x);
      }
    }
  };
  walk(doc);
  expect(refs.length).toBeGreaterThan(0);
  for (const ref of refs) {
    expect(ref.startsWith('#/'), ref).toBe(true);
    let node: any = doc;
    for (const part of ref.slice(2).split('/')) node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    expect(node, `$ref ${ref}`).toBeDefined();
  }
});

test('/docs is an HTML page that reads /openapi.json, served without a token', async () => {
  const { t } = await startPools(WEB);
  const res = await get(`${t.adminUrl}/docs`);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  expect(res.text).toMatch(/^<!doctype html>/i);
  expect(res.text).toContain('/openapi.json');
});

test('an unknown endpoint answers 404 not_found in the error shape', async () => {
  const { t } = await startPools(WEB);
  expectError(await api(t, 'GET', '/v1/nothing-here'), 404, 'not_found');
  expectError(await apiAs(t, undefined, 'GET', '/nothing-here'), 404, 'not_found');
  // Under /v1 the token comes first: no hint about which endpoints exist.
  expectError(await apiAs(t, undefined, 'GET', '/v1/nothing-here'), 401, 'unauthorized');
});
