import http2 from 'node:http2';
import { request } from 'undici';
import { describe, expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { readSnapshots } from '../helpers/sse.js';
import { PROCESS_MODELS, READ_TOKEN, startTestTurnout } from '../helpers/turnout.js';
import { formatSnapshot } from '../../src/cli/watch.js';
import type { TrafficSnapshot } from '../../src/telemetry/index.js';

// Issue 15: the live views see HTTP/2 traffic. Each pool's snapshot says what share of its
// requests came over HTTP/2; `status --watch` shows it as a column (the dashboard too).

/** `count` GETs over one prior-knowledge HTTP/2 connection; each answered 200. */
async function h2Gets(base: string, count: number): Promise<void> {
  const session = http2.connect(base);
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve, reject) => {
        const s = session.request({ ':path': '/', ':authority': 'web.test' });
        s.on('response', (h) => (h[':status'] === 200 ? undefined : reject(new Error(`status ${String(h[':status'])}`))));
        s.resume();
        s.on('end', () => resolve());
        s.on('error', reject);
      });
    }
  } finally {
    session.close();
  }
}

describe.each(PROCESS_MODELS)('the share of HTTP/2 per pool ($name)', ({ workers }) => {
  test('3 HTTP/2 requests of 4 show as 75 % in the snapshot and in status --watch; an idle pool shows 0', async () => {
    const blue = await startBackend('blue-1');
    const green = await startBackend('green-1');
    const t = await startTestTurnout(webService({ blue: [blue], green: [green] }, { split: { blue: 100, green: 0 } }), { workers });
    await h2Gets(t.proxyUrl, 3);
    expect((await request(`${t.proxyUrl}/`, { headers: { host: 'web.test' } }).then(async (r) => (await r.body.text(), r.statusCode)))).toBe(200);
    const res = await request(`${t.adminUrl}/v1/stream`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    const snaps = await readSnapshots<TrafficSnapshot>(
      res.body,
      (s) => s.services.some((svc) => svc.pools.some((p) => p.name === 'blue' && p.h2Share > 0 && p.rps * s.windowSeconds >= 4)),
      8000,
    );
    const last = snaps.at(-1) as TrafficSnapshot;
    const pools = last.services.find((s) => s.name === 'web')?.pools ?? [];
    expect(pools.find((p) => p.name === 'blue')?.h2Share).toBe(0.75);
    expect(pools.find((p) => p.name === 'green')?.h2Share).toBe(0);
    const text = formatSnapshot(last, 'web');
    expect(text).toMatch(/pool\/backend +split +req\/s +errors +p50 +p99 +h2 +in-flight/);
    expect(text).toMatch(/^ {2}blue +100% +[\d.]+ +0\.00% +\S+ms +\S+ms +75% +\d+$/m);
  }, 30_000);
});
