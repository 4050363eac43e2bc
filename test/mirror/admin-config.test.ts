import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { READ_TOKEN, api, apiAs, startTestTurnout, testDocument } from '../helpers/turnout.js';

const config = (mirror: unknown): string =>
  stringify(testDocument(webService({ blue: [{ id: 'b1', url: 'http://127.0.0.1:3001' }], green: [] }, { mirror })));

describe('mirror: in the config file', () => {
  test('loads with its defaults filled in, and seeds the state', async () => {
    const c = parseConfigText(config({ pool: 'green', percent: 5, methods: ['GET', 'POST'] }), 'turnout.yaml', {});
    expect(c.services.web?.seedMirror).toEqual({ pool: 'green', percent: 5, methods: ['GET', 'POST'], maxBodyBytes: 1048576, maxInFlight: 100 });
    const blue = await startBackend('blue-1');
    const t = await startTestTurnout(webService({ blue: [blue], green: [] }, { mirror: { pool: 'green', percent: 5 } }));
    const got = await api(t, 'GET', '/v1/services/web');
    expect(got.body.service.mirror).toEqual({ pool: 'green', percent: 5, methods: ['GET', 'HEAD'], maxBodyBytes: 1048576, maxInFlight: 100 });
  });

  test.for<[string, unknown, string, RegExp]>([
    ['unknown pool', { pool: 'red', percent: 5 }, 'services.web.mirror.pool', /unknown pool "red" \(pools: blue, green\)/],
    ['percent over 100', { pool: 'green', percent: 101 }, 'services.web.mirror.percent', /100/],
    ['a lower-case method', { pool: 'green', percent: 1, methods: ['get'] }, 'services.web.mirror.methods[0]', /HTTP method in upper case/],
    ['an unknown key', { pool: 'green', percent: 1, colour: 'x' }, 'services.web.mirror.colour', /unknown key/],
    ['no percent', { pool: 'green' }, 'services.web.mirror.percent', /.+/],
  ])('refuses %s at its key path', ([, mirror, path, expected]) => {
    let err: unknown;
    try {
      parseConfigText(config(mirror), 'turnout.yaml', {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    const hit = problems.find((p) => p.startsWith(`${path}: `));
    expect(hit, JSON.stringify(problems)).toMatch(expected);
  });
});

describe('PUT /v1/services/:svc/mirror refuses bad input with 400, the key path, and changes nothing', () => {
  test('each bad body', async () => {
    const blue = await startBackend('blue-1');
    const t = await startTestTurnout(webService({ blue: [blue], green: [] }));
    const before = (await api(t, 'GET', '/v1/services/web')).body.revision as number;
    const cases: [unknown, string][] = [
      [{ pool: 'red', percent: 5 }, '/pool'],
      [{ pool: 'green', percent: 150 }, '/percent'],
      [{ pool: 'green', percent: -1 }, '/percent'],
      [{ pool: 'green', percent: 1.005 }, '/percent'],
      [{ pool: 'green' }, ''],
      [{ pool: 'green', percent: 5, methods: ['post'] }, '/methods/0'],
      [{ pool: 'green', percent: 5, methods: [] }, '/methods'],
      [{ pool: 'green', percent: 5, maxInFlight: 0 }, '/maxInFlight'],
      [{ pool: 'green', percent: 5, maxBodyBytes: -5 }, '/maxBodyBytes'],
      [{ pool: 'green', percent: 5, colour: 'blue' }, ''],
      ['not json', ''],
    ];
    for (const [body, path] of cases) {
      const r = await api(t, 'PUT', '/v1/services/web/mirror', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
      if (path !== '') expect(r.body.error.details, JSON.stringify(r.body)).toContainEqual(expect.objectContaining({ path }));
    }
    const after = await api(t, 'GET', '/v1/services/web');
    expect(after.body.revision).toBe(before);
    expect(after.body.service.mirror).toBeUndefined();
  });

  test('a read token gets 403; ?dryRun=true answers the mirror it would set and sets none; a write is in the history', async () => {
    const blue = await startBackend('blue-1');
    const t = await startTestTurnout(webService({ blue: [blue], green: [] }));
    expect((await apiAs(t, READ_TOKEN, 'PUT', '/v1/services/web/mirror', { pool: 'green', percent: 5 })).status).toBe(403);
    const dry = await api(t, 'PUT', '/v1/services/web/mirror?dryRun=true', { pool: 'green', percent: 5 });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, service: { mirror: { pool: 'green', percent: 5 } } });
    expect((await api(t, 'GET', '/v1/services/web')).body.service.mirror).toBeUndefined();
    const put = await api(t, 'PUT', '/v1/services/web/mirror', { pool: 'green', percent: 5 }, { 'x-turnout-actor': 'deployer' });
    expect(put.status).toBe(200);
    expect(put.headers.get('etag')).toBe(`"${put.body.revision}"`);
    const history = (await api(t, 'GET', '/v1/services/web/history')).body.history as { action: string; actor: string; after: unknown }[];
    expect(history.at(-1)).toMatchObject({ action: 'mirror', after: { pool: 'green', percent: 5 } });
    expect(history.at(-1)?.actor).toContain('deployer');
    expect((await api(t, 'PUT', '/v1/services/nope/mirror', { pool: 'green', percent: 5 })).status).toBe(404);
  });
});
