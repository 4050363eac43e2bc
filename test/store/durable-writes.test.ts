import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { tempDir } from '../helpers/serve.js';
import { hasRedisServer } from '../helpers/redis.js';
import { redisCommand, startReplicated } from '../helpers/sentinel.js';
import { until } from '../helpers/time.js';
import { api, startTestTurnout } from '../helpers/turnout.js';

// Issue 19, durable writes: while the primary has a connected replica, a write answers once the
// replica has it (WAIT 1); a replica that does not confirm in time makes it a 503 that says the
// write may stand; a primary with no replica left takes writes as before.

describe.skipIf(!hasRedisServer())('durable writes on a primary with a replica', () => {
  test('acknowledged once the replica has it; a frozen replica: 503 store_unavailable "may stand", the revision tells; no replica left: writes as before', { timeout: 30_000 }, async () => {
    const { primary, replica } = await startReplicated(await tempDir());
    const prefix = `turnout-durable:${process.pid}:`;
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const t = await startTestTurnout({
      ...webService({ blue: [blue], green: [green] }, { split: { blue: 100, green: 0 } }),
      state: { store: 'redis', url: `redis://127.0.0.1:${primary.port}`, prefix },
    });
    const revisionOn = async (port: number): Promise<number> => Number(await redisCommand(port, ['GET', `${prefix}revision`]));

    // 1. Acknowledged: the replica has the revision the answer names as soon as it answers.
    const flip = await api(t, 'POST', '/v1/services/web/flip', { to: 'green' });
    expect(flip.status).toBe(200);
    expect(await revisionOn(replica.port)).toBe(flip.body.revision);

    // 2. The replica freezes (still connected, answers nothing): the write waits 1 s for it, then
    // answers 503 saying it may stand; the primary has it, and the instance serves it once re-read.
    replica.signal('SIGSTOP');
    const at = Date.now();
    const back = await api(t, 'POST', '/v1/services/web/flip', { to: 'blue' });
    const took = Date.now() - at;
    replica.signal('SIGCONT');
    expect(back.status).toBe(503);
    expect(back.body.error.code).toBe('store_unavailable');
    expect(back.body.error.message).toMatch(/^revision 3 was written but no replica confirmed it within 1000ms: the write may stand; the revision tells$/);
    expect(took).toBeGreaterThanOrEqual(950);
    expect(await revisionOn(primary.port)).toBe(3);
    await until('the instance serves revision 3 (re-read)', async () => (await api(t, 'GET', '/v1/services')).body.revision === 3, 5000, 50);
    await until('the replica caught up', async () => (await revisionOn(replica.port)) === 3, 5000, 50);

    // 3. No replica left: the primary takes writes as before.
    await replica.kill();
    await until('the primary sees no replica', async () => String(await redisCommand(primary.port, ['INFO', 'replication'])).includes('connected_slaves:0'), 5000, 50);
    // 200 proves no WAIT was sent: with no replica it could only time out (a 503).
    const canary = await api(t, 'POST', '/v1/services/web/canary', { pool: 'green', percent: 10 });
    expect(canary.status).toBe(200);
    expect(await revisionOn(primary.port)).toBe(canary.body.revision);
  });
});
