import { expect, test } from 'vitest';
import type { StateSnapshot } from '../../src/model/index.js';
import { MemoryStore } from '../../src/store/index.js';
import type { StateStore } from '../../src/store/index.js';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { until } from '../helpers/time.js';
import { api, startTestTurnout } from '../helpers/turnout.js';

/**
 * A memory store whose writes, once stored, wait for `release` (a fleet store waiting for a
 * replica: WAIT 1), and that can hand a newer state to its listeners meanwhile (another
 * instance's write built on this one, arriving by pub/sub or the re-read). The real Redis race is
 * not reproducible on demand; this is the same sequence, step by step.
 */
class WaitingStore implements StateStore {
  readonly kind = 'memory' as const;
  private readonly inner = new MemoryStore();
  readonly fleet = this.inner.fleet;
  private listeners: ((s: StateSnapshot) => void)[] = [];
  private held: (() => void) | undefined;
  stored: StateSnapshot | undefined;
  hold = false;

  load(): Promise<StateSnapshot | undefined> {
    return this.inner.load();
  }

  async write(next: StateSnapshot, expectedRevision: number): Promise<void> {
    await this.inner.write(next, expectedRevision);
    this.stored = next;
    if (this.hold) await new Promise<void>((resolve) => (this.held = resolve));
  }

  onChange(listener: (s: StateSnapshot) => void): void {
    this.listeners.push(listener);
  }

  /** Another instance writes `next` over what is stored and the change fans out. */
  async otherWrites(next: StateSnapshot): Promise<void> {
    await this.inner.write(next, next.revision - 1);
    this.stored = next;
    for (const l of this.listeners) l(next);
  }

  release(): void {
    this.held?.();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

test('a newer state that arrives while this instance\'s write waits for its replica is kept: the revision served never steps back', async () => {
  const blue = await startBackend('blue-1');
  const green = await startBackend('green-1');
  const store = new WaitingStore();
  const t = await startTestTurnout(webService({ blue: [blue], green: [green] }, { split: { blue: 100, green: 0 } }), { store });
  expect((await api(t, 'GET', '/v1/services')).body.revision).toBe(1);

  store.hold = true;
  const flip = api(t, 'POST', '/v1/services/web/flip', { to: 'green' });
  await until('the flip is stored (revision 2) and waits', () => store.stored?.revision === 2, 5000, 5);
  // Another instance read revision 2 and wrote revision 3 on top of it (a canary back to blue).
  const two = store.stored as StateSnapshot;
  const web = two.services.web as StateSnapshot['services'][string];
  await store.otherWrites({ ...two, revision: 3, services: { ...two.services, web: { ...web, split: { blue: 10, green: 90 } } } });
  await until('revision 3 is applied', async () => (await api(t, 'GET', '/v1/services')).body.revision === 3, 5000, 5);
  store.hold = false;
  store.release();

  const answered = await flip;
  expect(answered.status).toBe(200);
  expect(answered.body.revision).toBe(2);
  // Still revision 3, with the other instance's split; the fleet reports 3 too.
  const now = await api(t, 'GET', '/v1/services/web');
  expect(now.body.revision).toBe(3);
  expect(now.body.service.split).toEqual({ blue: 10, green: 90 });
  expect((await api(t, 'GET', '/v1/fleet')).body.instances.map((i: { revision: number }) => i.revision)).toEqual([3]);
  // The next write builds on revision 3.
  const next = await api(t, 'POST', '/v1/services/web/canary', { pool: 'green', percent: 50 });
  expect(next.status).toBe(200);
  expect(next.body.revision).toBe(4);
});
