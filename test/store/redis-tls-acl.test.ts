import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { READ_TOKEN, TOKEN } from '../helpers/api.js';
import { startBackend } from '../helpers/backends.js';
import { expectFreshCliBuild } from '../helpers/cli.js';
import { hasRedisServer } from '../helpers/redis.js';
import { adminCall, freePort, spawnTurnout, tempDir, waitExit, waitReady, writeYaml } from '../helpers/serve.js';
import type { ServeProcess } from '../helpers/serve.js';
import { sleep, until } from '../helpers/time.js';
import { hasOpenssl, makeCa } from '../helpers/tls.js';

// Issue 19, acceptance 2: a TLS Redis (throwaway CA made with openssl, client certificates
// required) with an ACL user; turnout connects with the user's password, refuses to start on a
// wrong one (exit 1, the store named, no password), and no password shows anywhere.

const PASSWORD = 'acl-s3cret-Pw-19';
const WRONG = 'wrong-s3cret-Pw-19';

interface TlsRedis {
  readonly port: number;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly prefix: string;
}

/** redis-server on a TLS port only, client certificates required, user `turnout` (keys and channels under the prefix), `default` off. */
async function startTlsRedis(dir: string): Promise<TlsRedis> {
  const ca = makeCa(dir);
  ca.issue(join(dir, 'server.pem'), join(dir, 'server.key'));
  ca.issue(join(dir, 'client.pem'), join(dir, 'client.key'), 'turnout');
  const port = await freePort();
  const prefix = 'turnout-tls:';
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      'port 0',
      `tls-port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'save ""',
      'appendonly no',
      `tls-cert-file ${join(dir, 'server.pem')}`,
      `tls-key-file ${join(dir, 'server.key')}`,
      `tls-ca-cert-file ${ca.ca}`,
      'tls-auth-clients yes',
      'user default off',
      `user turnout on >${PASSWORD} ~${prefix}* &${prefix}* +@all`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [conf], { stdio: 'ignore' });
  onTestFinished(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  });
  const tls = { ca: readFileSync(ca.ca), cert: readFileSync(join(dir, 'client.pem')), key: readFileSync(join(dir, 'client.key')) };
  await until('the TLS redis answers the ACL user', async () => {
    const c = new Redis({ host: '127.0.0.1', port, tls, username: 'turnout', password: PASSWORD, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      c.disconnect();
    }
  }, 10_000, 50);
  return { port, ca: ca.ca, cert: join(dir, 'client.pem'), key: join(dir, 'client.key'), prefix };
}

describe.skipIf(!hasRedisServer() || !hasOpenssl())('fleet store on TLS Redis with an ACL user', () => {
  beforeAll(() => expectFreshCliBuild());

  test('two instances connect (user in the URL; username/password keys), share the state; a wrong password stops start-up with exit 1 naming the store; no password in logs, answers, metrics', { timeout: 90_000 }, async () => {
    const dir = await tempDir();
    const redis = await startTlsRedis(dir);
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const doc = (port: number, adminPort: number, state: Record<string, unknown>): Record<string, unknown> => ({
      listen: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: adminPort, tokens: [{ name: 'ci', token: TOKEN, scope: 'write' }, { name: 'viewer', token: READ_TOKEN, scope: 'read' }] },
      state: { store: 'redis', prefix: redis.prefix, ...state },
      log: { level: 'debug' },
      workers: 0,
      services: {
        web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: blue.id, url: blue.url }], green: [{ id: green.id, url: green.url }] }, split: { blue: 100, green: 0 }, outlier: false },
      },
    });
    const tls = { ca: redis.ca, cert: redis.cert, key: redis.key };
    const start = async (name: string, state: Record<string, unknown>): Promise<{ proc: ServeProcess; adminPort: number; proxy: string; file: string }> => {
      const [port, adminPort] = [await freePort(), await freePort()];
      const file = await writeYaml(dir, `${name}.yaml`, doc(port, adminPort, state));
      const proc = spawnTurnout(['serve', '--config', file]);
      await waitReady(proc, adminPort, 40_000);
      return { proc, adminPort, proxy: `http://127.0.0.1:${port}`, file };
    };
    const [a, b] = await Promise.all([
      start('a', { url: `rediss://turnout:${PASSWORD}@127.0.0.1:${redis.port}`, tls }),
      start('b', { url: `rediss://127.0.0.1:${redis.port}`, username: 'turnout', password: PASSWORD, tls: { ...tls, servername: 'localhost' } }),
    ]);

    // They share the state: a flip on a is served by b.
    const flip = await adminCall(a.adminPort, TOKEN, 'POST', '/v1/services/web/flip', { to: 'green' });
    expect(flip.status).toBe(200);
    await until('b serves the flip', async () => (await fetch(`${b.proxy}/`)).headers.get('x-backend') === 'green-1', 3000, 20);
    let fleet = await adminCall(b.adminPort, READ_TOKEN, 'GET', '/v1/fleet');
    for (let n = 0; n < 40 && fleet.body.instances.length !== 2; n++) {
      await sleep(50);
      fleet = await adminCall(b.adminPort, READ_TOKEN, 'GET', '/v1/fleet');
    }
    expect(fleet.body.store).toBe('redis');
    expect(fleet.body.instances).toHaveLength(2);

    // Config is shown redacted: the ready log line names the state section without passwords, a
    // reload that changes them shows "(hidden)" and the URL without its password.
    const ready = a.proc.output.stdout.split('\n').find((l) => l.includes('"turnout ready"')) ?? '';
    expect(JSON.parse(ready).state).toMatchObject({ store: 'redis', url: `rediss://turnout:***@127.0.0.1:${redis.port}` });
    const readyB = JSON.parse(b.proc.output.stdout.split('\n').find((l) => l.includes('"turnout ready"')) ?? '{}');
    expect(readyB.state).toMatchObject({ username: 'turnout', password: '(hidden)' });
    writeFileSync(b.file, readFileSync(b.file, 'utf8').replace(PASSWORD, `${PASSWORD}-next`));
    const reload = await adminCall(b.adminPort, TOKEN, 'POST', '/v1/config/reload?dryRun=true');
    expect(reload.status).toBe(409);
    expect(reload.body.error.details).toContainEqual({ kind: 'restart_required', path: 'state.password', from: '(hidden)', to: '(hidden)' });
    writeFileSync(a.file, readFileSync(a.file, 'utf8').replace(`turnout:${PASSWORD}@`, `turnout:${PASSWORD}-next@`));
    const reloadA = await adminCall(a.adminPort, TOKEN, 'POST', '/v1/config/reload?dryRun=true');
    expect(reloadA.status).toBe(409);
    expect(reloadA.body.error.details).toContainEqual({ kind: 'restart_required', path: 'state.url', from: `rediss://turnout:***@127.0.0.1:${redis.port}`, to: `rediss://turnout:***@127.0.0.1:${redis.port}` });
    const metrics = await fetch(`http://127.0.0.1:${a.adminPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const shown = [JSON.stringify(fleet.body), JSON.stringify(reload.body), JSON.stringify(reloadA.body), await metrics.text()];

    // A wrong password (as a key, and in the URL): exit 1, the store named, no password.
    const wrongKey = spawnTurnout(['serve', '--config', await writeYaml(dir, 'wrong-key.yaml', doc(await freePort(), await freePort(), { url: `rediss://127.0.0.1:${redis.port}`, username: 'turnout', password: WRONG, tls }))]);
    const wrongUrl = spawnTurnout(['serve', '--config', await writeYaml(dir, 'wrong-url.yaml', doc(await freePort(), await freePort(), { url: `rediss://turnout:${WRONG}@127.0.0.1:${redis.port}`, tls }))]);
    const startedAt = Date.now();
    expect((await waitExit(wrongKey, 45_000)).code).toBe(1);
    expect((await waitExit(wrongUrl, 45_000)).code).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(45_000);
    expect(wrongKey.output.stderr).toMatch(new RegExp(`^turnout: cannot start: redis refused the credentials: WRONGPASS .*\\(state\\.store redis at rediss://127\\.0\\.0\\.1:${redis.port} as turnout\\)\\n$`));
    expect(wrongUrl.output.stderr).toMatch(new RegExp(`\\(state\\.store redis at rediss://turnout:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}\\)\\n$`));

    for (const text of [...shown, ...[a, b, { proc: wrongKey }, { proc: wrongUrl }].flatMap((p) => [p.proc.output.stdout, p.proc.output.stderr])]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(WRONG);
    }
  });
});
