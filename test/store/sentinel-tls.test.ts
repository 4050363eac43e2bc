import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { READ_TOKEN, TOKEN } from '../helpers/api.js';
import { startBackend } from '../helpers/backends.js';
import { expectFreshCliBuild } from '../helpers/cli.js';
import { hasRedisSentinel, redisCommand, startSentinelSet } from '../helpers/sentinel.js';
import { adminCall, freePort, spawnTurnout, tempDir, waitReady, writeYaml } from '../helpers/serve.js';
import { sleep } from '../helpers/time.js';
import { hasOpenssl, makeCa } from '../helpers/tls.js';

// Issue 19: Sentinel over TLS (state.tls applies to the sentinels too): every node and sentinel
// speaks TLS only, with a throwaway CA; turnout finds the primary through the sentinels, writes,
// and after a SIGKILL of the primary writes again on the promoted replica.

describe.skipIf(!hasRedisSentinel() || !hasOpenssl())('fleet store on Sentinel over TLS', () => {
  beforeAll(() => expectFreshCliBuild());

  test('connects through TLS sentinels, writes, and writes again after a failover', { timeout: 90_000 }, async () => {
    const dir = await tempDir();
    const ca = makeCa(dir);
    const tls = { ca: ca.ca, cert: join(dir, 'redis.pem'), key: join(dir, 'redis.key') };
    ca.issue(tls.cert, tls.key);
    const set = await startSentinelSet(dir, { tls });
    const blue = await startBackend('blue-1');
    const prefix = `turnout-sentinel-tls:${process.pid}:`;
    const adminPort = await freePort();
    const file = await writeYaml(dir, 'turnout.yaml', {
      listen: { host: '127.0.0.1', port: await freePort() },
      admin: { host: '127.0.0.1', port: adminPort, tokens: [{ name: 'ci', token: TOKEN, scope: 'write' }, { name: 'viewer', token: READ_TOKEN, scope: 'read' }] },
      state: { store: 'redis', sentinels: set.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), name: set.name, prefix, tls: { ...tls, servername: 'localhost' } },
      log: { level: 'info' },
      workers: 0,
      services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: blue.id, url: blue.url }], green: [] }, outlier: false } },
    });
    const proc = spawnTurnout(['serve', '--config', file]);
    await waitReady(proc, adminPort, 40_000);
    const register = (id: string): ReturnType<typeof adminCall> => adminCall(adminPort, TOKEN, 'POST', '/v1/services/web/pools/green/backends', { id, url: 'http://127.0.0.1:9' });
    const first = await register('g-1');
    expect(first.status).toBe(201);
    expect(Number(await redisCommand(set.replica.port, ['GET', `${prefix}revision`], { tls }))).toBe(first.body.revision);

    const oldPort = set.primary.port;
    await set.primary.kill();
    let again: Awaited<ReturnType<typeof adminCall>> | undefined;
    const deadline = Date.now() + 20_000;
    for (let n = 2; Date.now() < deadline; n++) {
      again = await register(`g-${n}`);
      if (again.status === 201) break;
      expect(again.status).toBe(503);
      await sleep(200);
    }
    expect(again?.status).toBe(201);
    expect(await set.primaryPort()).not.toBe(oldPort);
    const stored = JSON.parse(String(await redisCommand(set.replica.port, ['GET', `${prefix}state`], { tls }))) as { revision: number };
    expect(stored.revision).toBe(again?.body.revision);
    expect(proc.output.stdout + proc.output.stderr).not.toMatch(/PRIVATE KEY/);
  });
});
