import SwaggerParser from '@apidevtools/swagger-parser';
import { expect, test } from 'vitest';
import { apiAs, startPools } from '../helpers/admin.js';

// Regression: /openapi.json said 3.0.3 but carried 3.1 keywords (a numeric exclusiveMinimum on the
// rollout steps and maxP99Ms), so a validator refused it with 14 errors.
test('/openapi.json is a valid OpenAPI document (@apidevtools/swagger-parser), every route and schema included', async () => {
  const { t } = await startPools({ blue: ['blue-1'], green: ['green-1'] });
  const res = await apiAs(t, undefined, 'GET', '/openapi.json');
  expect(res.status).toBe(200);
  expect(res.body.openapi).toBe('3.1.0');
  // validate() dereferences in place: give it a copy, keep the answer to compare.
  const checked = await SwaggerParser.validate(structuredClone(res.body));
  expect(Object.keys(checked.paths ?? {})).toEqual(Object.keys(res.body.paths));
  expect(res.body.paths['/v1/services/{svc}/rollouts'].post.requestBody.content['application/json'].schema.properties.steps.items).toMatchObject({
    exclusiveMinimum: 0,
  });
});
