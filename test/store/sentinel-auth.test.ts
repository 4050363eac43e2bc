import { beforeAll, describe, expect, test } from 'vitest';
import { READ_TOKEN, TOKEN } from '../helpers/api.js';
import { startBackend } from '../helpers/backends.js';
import { expectFreshCliBuild } from '../helpers/cli.js';
import { hasRedisSentinel, redisCommand, startSentinelSet } from '../helpers/sentinel.js';
import { adminCall, freePort, spawnTurnout, tempDir, waitExit, waitReady, writeYaml } from '../helpers/serve.js';

// Issue 19: Sentinel with passwords: the sentinels' own (sentinelPassword) and an ACL user on the
// nodes (username, password). Right ones: turnout serves and writes; a wrong one of either: exit 1
// naming the store, no password anywhere in the output.

const NODE_PW = 'node-s3cret-19';
const SENTINEL_PW = 'sentinel-s3cret-19';

describe.skipIf(!hasRedisSentinel())('fleet store on Sentinel with passwords', () => {
  beforeAll(() => expectFreshCliBuild());

  test('the right passwords: serves and writes; a wrong sentinel or node password: exit 1 naming the store, no password shown', { timeout: 90_000 }, async () => {
    const dir = await tempDir();
    const set = await startSentinelSet(dir, { user: { name: 'turnout', password: NODE_PW }, sentinelPassword: SENTINEL_PW });
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const prefix = `turnout-sentinel-auth:${process.pid}:`;
    const sentinels = set.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
    const config = async (file: string, passwords: { password: string; sentinelPassword: string }): Promise<{ path: string; adminPort: number }> => {
      const adminPort = await freePort();
      const path = await writeYaml(dir, file, {
        listen: { host: '127.0.0.1', port: await freePort() },
        admin: { host: '127.0.0.1', port: adminPort, tokens: [{ name: 'ci', token: TOKEN, scope: 'write' }, { name: 'viewer', token: READ_TOKEN, scope: 'read' }] },
        state: { store: 'redis', sentinels, name: set.name, prefix, username: 'turnout', ...passwords },
        log: { level: 'debug' },
        workers: 0,
        services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: blue.id, url: blue.url }], green: [{ id: green.id, url: green.url }] }, split: { blue: 100, green: 0 }, outlier: false } },
      });
      return { path, adminPort };
    };

    const good = await config('good.yaml', { password: NODE_PW, sentinelPassword: SENTINEL_PW });
    const wrongSentinel = await config('wrong-sentinel.yaml', { password: NODE_PW, sentinelPassword: `${SENTINEL_PW}-wrong` });
    const wrongNode = await config('wrong-node.yaml', { password: `${NODE_PW}-wrong`, sentinelPassword: SENTINEL_PW });
    const serving = spawnTurnout(['serve', '--config', good.path]);
    const badSentinel = spawnTurnout(['serve', '--config', wrongSentinel.path]);
    const badNode = spawnTurnout(['serve', '--config', wrongNode.path]);

    await waitReady(serving, good.adminPort, 40_000);
    const flip = await adminCall(good.adminPort, TOKEN, 'POST', '/v1/services/web/flip', { to: 'green' });
    expect(flip.status).toBe(200);
    expect(Number(await redisCommand(set.primary.port, ['GET', `${prefix}revision`]))).toBe(flip.body.revision);

    const store = `redis via sentinels ${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')} (primary ${set.name}) as turnout`;
    const escaped = store.replace(/[.()]/g, '\\$&');
    expect((await waitExit(badSentinel, 45_000)).code).toBe(1);
    expect(badSentinel.output.stderr).toMatch(new RegExp(`^turnout: cannot start: redis refused the credentials: .*WRONGPASS.* \\(state\\.store ${escaped}\\)\\n$`));
    expect((await waitExit(badNode, 45_000)).code).toBe(1);
    expect(badNode.output.stderr).toMatch(new RegExp(`^turnout: cannot start: redis refused the credentials: WRONGPASS .*\\(state\\.store ${escaped}\\)\\n$`));

    const fleet = await adminCall(good.adminPort, READ_TOKEN, 'GET', '/v1/fleet');
    const metrics = await (await fetch(`http://127.0.0.1:${good.adminPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    for (const text of [JSON.stringify(fleet.body), metrics, ...[serving, badSentinel, badNode].flatMap((p) => [p.output.stdout, p.output.stderr])]) {
      expect(text).not.toContain(NODE_PW);
      expect(text).not.toContain(SENTINEL_PW);
    }
  });
});
