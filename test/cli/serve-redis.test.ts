import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { deadPort } from '../helpers/backends.js';
import { runCli } from '../helpers/cli.js';

test('fleet mode with Redis unreachable at start-up: exit 1 with a message naming the store, no stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnout-redis-down-'));
  const file = join(dir, 'turnout.yaml');
  const [listen, admin, redis] = [await deadPort(), await deadPort(), await deadPort()];
  writeFileSync(
    file,
    `listen: { host: 127.0.0.1, port: ${listen} }
admin: { host: 127.0.0.1, port: ${admin}, token: x }
state: { store: redis, url: "redis://127.0.0.1:${redis}" }
services:
  web:
    routes: [{ host: "*" }]
    pools: { blue: [] }
`,
  );
  const r = await runCli(['serve', '--config', file]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`turnout: cannot start: cannot reach redis: .*\\(state.store redis at redis://127.0.0.1:${redis}\\)`));
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
