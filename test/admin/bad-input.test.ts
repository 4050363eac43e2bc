import { expect, test } from 'vitest';
import { READ_TOKEN, TOKEN, api } from '../helpers/turnout.js';
import { apiAs, expectError, startPools } from '../helpers/admin.js';

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  /** An object is sent as JSON; a string as it is. */
  readonly body?: unknown;
  /** `null`: no Authorization header. Default: the write token. */
  readonly token?: string | null;
  readonly headers?: Record<string, string>;
  readonly status: number;
  readonly code: string;
}

const SPLIT = '/v1/services/web/split';
const FLIP = '/v1/services/web/flip';
const CANARY = '/v1/services/web/canary';
const BACKENDS = '/v1/services/web/pools/green/backends';
const BLUE1 = '/v1/services/web/pools/blue/backends/blue-1';
const NEW = { id: 'green-2', url: 'http://127.0.0.1:3002' };

const CASES: readonly Case[] = [
  // Bodies that are not what the call takes.
  { name: 'malformed JSON', method: 'PUT', path: SPLIT, body: '{"split": {"blue": 100', status: 400, code: 'invalid_request' },
  { name: 'empty body with a JSON content type', method: 'POST', path: FLIP, body: '', status: 400, code: 'invalid_request' },
  { name: 'no body at all', method: 'POST', path: FLIP, status: 400, code: 'invalid_request' },
  { name: 'a body that is not JSON', method: 'PUT', path: SPLIT, body: 'split=blue', headers: { 'content-type': 'text/plain' }, status: 400, code: 'invalid_request' },
  { name: 'a JSON array instead of an object', method: 'PUT', path: SPLIT, body: [], status: 400, code: 'invalid_request' },
  { name: '__proto__ in the body', method: 'PUT', path: SPLIT, body: '{"split":{"blue":100},"__proto__":{"force":true}}', status: 400, code: 'invalid_request' },
  { name: 'unknown body property', method: 'PUT', path: SPLIT, body: { split: { blue: 100 }, note: 'x' }, status: 400, code: 'invalid_request' },
  // Splits.
  { name: 'split missing', method: 'PUT', path: SPLIT, body: {}, status: 400, code: 'invalid_request' },
  { name: 'split is a number', method: 'PUT', path: SPLIT, body: { split: 100 }, status: 400, code: 'invalid_request' },
  { name: 'split percent is a string', method: 'PUT', path: SPLIT, body: { split: { blue: '100' } }, status: 400, code: 'invalid_request' },
  { name: 'split sums to 90', method: 'PUT', path: SPLIT, body: { split: { blue: 60, green: 30 } }, status: 400, code: 'invalid_request' },
  { name: 'split sums to 110', method: 'PUT', path: SPLIT, body: { split: { blue: 60, green: 50 } }, status: 400, code: 'invalid_request' },
  { name: 'split empty', method: 'PUT', path: SPLIT, body: { split: {} }, status: 400, code: 'invalid_request' },
  { name: 'split percent negative', method: 'PUT', path: SPLIT, body: { split: { blue: 110, green: -10 } }, status: 400, code: 'invalid_request' },
  { name: 'split percent over 100', method: 'PUT', path: SPLIT, body: { split: { blue: 100.01 } }, status: 400, code: 'invalid_request' },
  { name: 'split percent with 3 decimals', method: 'PUT', path: SPLIT, body: { split: { blue: 33.333, green: 66.667 } }, status: 400, code: 'invalid_request' },
  { name: 'split names an unknown pool', method: 'PUT', path: SPLIT, body: { split: { blue: 50, purple: 50 } }, status: 400, code: 'invalid_request' },
  { name: 'split gives a share to a pool with no eligible backend', method: 'PUT', path: SPLIT, body: { split: { blue: 50, dark: 50 } }, status: 409, code: 'conflict' },
  // Flip and canary.
  { name: 'flip without "to"', method: 'POST', path: FLIP, body: {}, status: 400, code: 'invalid_request' },
  { name: 'flip "to" is a number', method: 'POST', path: FLIP, body: { to: 1 }, status: 400, code: 'invalid_request' },
  { name: 'flip to an unknown pool', method: 'POST', path: FLIP, body: { to: 'purple' }, status: 404, code: 'not_found' },
  { name: 'flip on an unknown service', method: 'POST', path: '/v1/services/nope/flip', body: { to: 'green' }, status: 404, code: 'not_found' },
  { name: 'flip ?wait with an unknown value', method: 'POST', path: `${FLIP}?wait=forever`, body: { to: 'green' }, status: 400, code: 'invalid_request' },
  { name: 'canary percent over 100', method: 'POST', path: CANARY, body: { pool: 'green', percent: 100.5 }, status: 400, code: 'invalid_request' },
  { name: 'canary percent negative', method: 'POST', path: CANARY, body: { pool: 'green', percent: -1 }, status: 400, code: 'invalid_request' },
  { name: 'canary percent with 3 decimals', method: 'POST', path: CANARY, body: { pool: 'green', percent: 0.125 }, status: 400, code: 'invalid_request' },
  { name: 'canary percent is a string', method: 'POST', path: CANARY, body: { pool: 'green', percent: '5' }, status: 400, code: 'invalid_request' },
  { name: 'canary to an unknown pool', method: 'POST', path: CANARY, body: { pool: 'purple', percent: 5 }, status: 404, code: 'not_found' },
  { name: 'rollback with no earlier split', method: 'POST', path: '/v1/services/web/rollback', status: 409, code: 'conflict' },
  // Register.
  { name: 'weight negative', method: 'POST', path: BACKENDS, body: { ...NEW, weight: -1 }, status: 400, code: 'invalid_request' },
  { name: 'weight over 1000', method: 'POST', path: BACKENDS, body: { ...NEW, weight: 1001 }, status: 400, code: 'invalid_request' },
  { name: 'weight not an integer', method: 'POST', path: BACKENDS, body: { ...NEW, weight: 1.5 }, status: 400, code: 'invalid_request' },
  { name: 'url not http(s)', method: 'POST', path: BACKENDS, body: { ...NEW, url: 'ftp://127.0.0.1:21' }, status: 400, code: 'invalid_request' },
  { name: 'url with a path', method: 'POST', path: BACKENDS, body: { ...NEW, url: 'http://127.0.0.1:3002/app' }, status: 400, code: 'invalid_request' },
  { name: 'url not a URL', method: 'POST', path: BACKENDS, body: { ...NEW, url: 'localhost:3002' }, status: 400, code: 'invalid_request' },
  { name: 'url missing', method: 'POST', path: BACKENDS, body: { id: 'green-2' }, status: 400, code: 'invalid_request' },
  { name: 'id with spaces', method: 'POST', path: BACKENDS, body: { ...NEW, id: 'green 2' }, status: 400, code: 'invalid_request' },
  { name: 'duplicate id (same pool)', method: 'POST', path: BACKENDS, body: { ...NEW, id: 'green-1' }, status: 409, code: 'conflict' },
  { name: 'duplicate id (other pool)', method: 'POST', path: BACKENDS, body: { ...NEW, id: 'blue-1' }, status: 409, code: 'conflict' },
  { name: 'register in an unknown pool', method: 'POST', path: '/v1/services/web/pools/purple/backends', body: NEW, status: 404, code: 'not_found' },
  // Patch and delete.
  { name: 'empty PATCH', method: 'PATCH', path: BLUE1, body: {}, status: 400, code: 'invalid_request' },
  { name: 'PATCH an unknown state', method: 'PATCH', path: BLUE1, body: { state: 'deleted' }, status: 400, code: 'invalid_request' },
  { name: 'PATCH weight over 1000', method: 'PATCH', path: BLUE1, body: { weight: 5000 }, status: 400, code: 'invalid_request' },
  { name: 'PATCH weight and draining together', method: 'PATCH', path: BLUE1, body: { weight: 5, state: 'draining' }, status: 400, code: 'invalid_request' },
  { name: 'PATCH an unknown backend', method: 'PATCH', path: '/v1/services/web/pools/blue/backends/blue-7', body: { weight: 5 }, status: 404, code: 'not_found' },
  { name: 'DELETE ?timeout not a duration', method: 'DELETE', path: `${BLUE1}?timeout=later`, status: 400, code: 'invalid_request' },
  { name: 'DELETE ?timeout negative', method: 'DELETE', path: `${BLUE1}?timeout=-5s`, status: 400, code: 'invalid_request' },
  { name: 'DELETE ?wait not a boolean', method: 'DELETE', path: `${BLUE1}?wait=maybe`, status: 400, code: 'invalid_request' },
  // Regression: Node timers overflow past ~24.8 days and fire at once, which cut the drain short.
  { name: 'DELETE ?timeout over 24h', method: 'DELETE', path: `${BLUE1}?timeout=600h`, status: 400, code: 'invalid_request' },
  { name: 'DELETE an unknown backend', method: 'DELETE', path: '/v1/services/web/pools/blue/backends/blue-7', status: 404, code: 'not_found' },
  // Query, names, routes.
  { name: '?dryRun not a boolean', method: 'PUT', path: `${SPLIT}?dryRun=yes`, body: { split: { blue: 100 } }, status: 400, code: 'invalid_request' },
  { name: 'unknown query parameter', method: 'PUT', path: `${SPLIT}?fast=true`, body: { split: { blue: 100 } }, status: 400, code: 'invalid_request' },
  { name: 'service name with bad characters', method: 'PUT', path: '/v1/services/we%20b/split', body: { split: { blue: 100 } }, status: 400, code: 'invalid_request' },
  { name: 'unknown service', method: 'PUT', path: '/v1/services/nope/split', body: { split: { blue: 100 } }, status: 404, code: 'not_found' },
  // Regression: names that are Object.prototype keys found the prototype's function and answered 500.
  { name: 'service named "constructor"', method: 'GET', path: '/v1/services/constructor', status: 404, code: 'not_found' },
  { name: 'service named "toString" on a write', method: 'PUT', path: '/v1/services/toString/split', body: { split: { blue: 100 } }, status: 404, code: 'not_found' },
  { name: 'history of a service named "valueOf"', method: 'GET', path: '/v1/services/valueOf/history', status: 404, code: 'not_found' },
  { name: 'flip to a pool named "constructor"', method: 'POST', path: FLIP, body: { to: 'constructor' }, status: 404, code: 'not_found' },
  { name: 'register in a pool named "constructor"', method: 'POST', path: '/v1/services/web/pools/constructor/backends', body: NEW, status: 404, code: 'not_found' },
  { name: 'GET a backend in a pool named "hasOwnProperty"', method: 'GET', path: '/v1/services/web/pools/hasOwnProperty/backends/blue-1', status: 404, code: 'not_found' },
  { name: 'unknown endpoint', method: 'POST', path: '/v1/services/web/promote', body: {}, status: 404, code: 'not_found' },
  // Auth.
  { name: 'missing token', method: 'PUT', path: SPLIT, body: { split: { green: 100 } }, token: null, status: 401, code: 'unauthorized' },
  { name: 'wrong token', method: 'PUT', path: SPLIT, body: { split: { green: 100 } }, token: 'test-tokem', status: 401, code: 'unauthorized' },
  { name: 'token prefix only', method: 'PUT', path: SPLIT, body: { split: { green: 100 } }, token: 'test', status: 401, code: 'unauthorized' },
  { name: 'Basic instead of Bearer', method: 'PUT', path: SPLIT, body: { split: { green: 100 } }, token: null, headers: { authorization: `Basic ${TOKEN}` }, status: 401, code: 'unauthorized' },
  { name: 'read token on a write', method: 'PUT', path: SPLIT, body: { split: { green: 100 } }, token: READ_TOKEN, status: 403, code: 'forbidden' },
  { name: 'read token on a delete', method: 'DELETE', path: BLUE1, token: READ_TOKEN, status: 403, code: 'forbidden' },
  // Size and revision.
  { name: 'body over 1 MiB', method: 'PUT', path: SPLIT, body: JSON.stringify({ split: { green: 100 }, pad: 'x'.repeat(1024 * 1024) }), status: 413, code: 'payload_too_large' },
  { name: 'stale If-Match', method: 'PUT', path: SPLIT, body: { split: { green: 100 } }, headers: { 'if-match': '"0"' }, status: 412, code: 'revision_mismatch' },
  { name: 'If-Match from the future', method: 'POST', path: FLIP, body: { to: 'green' }, headers: { 'if-match': '"99"' }, status: 412, code: 'revision_mismatch' },
  { name: 'If-Match not a revision', method: 'PUT', path: SPLIT, body: { split: { green: 100 } }, headers: { 'if-match': '"abc"' }, status: 400, code: 'invalid_request' },
];

test(`${CASES.length} bad inputs: each refused with its 4xx and {error: {code, message}}, and nothing changes`, async () => {
  expect(CASES.length).toBeGreaterThanOrEqual(25);
  const { t } = await startPools({ blue: ['blue-1'], green: ['green-1'], dark: [] });
  const before = await api(t, 'GET', '/v1/services');
  const historyBefore = await api(t, 'GET', '/v1/services/web/history');
  const failures: string[] = [];
  for (const c of CASES) {
    const token = c.token === null ? undefined : (c.token ?? TOKEN);
    const res = await apiAs(t, token, c.method, c.path, c.body, c.headers ?? {});
    try {
      expectError(res, c.status, c.code);
    } catch {
      failures.push(`${c.name}: expected ${c.status} ${c.code}, got ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
  }
  expect(failures).toEqual([]);
  const after = await api(t, 'GET', '/v1/services');
  expect(after.body.revision).toBe(before.body.revision);
  expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
  expect(JSON.stringify(after.body)).toBe(JSON.stringify(before.body));
  expect((await api(t, 'GET', '/v1/services/web/history')).body).toEqual(historyBefore.body);
});
