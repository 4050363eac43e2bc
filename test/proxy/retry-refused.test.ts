import { createHash } from 'node:crypto';
import { expect, test, vi } from 'vitest';
import { deadPort, startBackend } from '../helpers/backends.js';
import type { Handler } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { countBy, runRequests } from '../helpers/load.js';
import { startTestTurnout } from '../helpers/turnout.js';

/** Answers the method, byte count and SHA-256 of the request body it received. */
const digestHandler: Handler = (req, res, b) => {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (d: Buffer) => {
    bytes += d.length;
    hash.update(d);
  });
  req.on('end', () => {
    const body = JSON.stringify({ method: req.method, bytes, sha256: hash.digest('hex') });
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': b.id });
    res.end(body);
  });
};

async function deadAndLive(): Promise<{ proxyUrl: string; live: { hits: number }; failures: () => string[] }> {
  const live = await startBackend('live', digestHandler);
  const dead = await deadPort();
  // Declared first, the dead one is picked first and then every other time (equal weights).
  const t = await startTestTurnout(
    webService({
      blue: [
        { id: 'dead', url: `http://127.0.0.1:${dead}` },
        { id: 'live', url: live.url },
      ],
    }),
  );
  // The runtime is the proxy's observer: every failed attempt is reported there, with whether it was retried.
  const spy = vi.spyOn(t.runtime.observer, 'onUpstreamFailure');
  const failures = (): string[] => spy.mock.calls.map(([, , up, reason, retried]) => `${up.id} ${reason} ${retried ? 'retried' : 'final'}`);
  return { proxyUrl: t.proxyUrl, live, failures };
}

test('a refused backend is retried on the other one: 200 GETs, 200 times 200', async () => {
  const { proxyUrl, live, failures } = await deadAndLive();
  const results = await runRequests(proxyUrl, { count: 200, connections: 4, path: (i) => `/get/${i}` });
  expect(countBy(results)).toEqual({ live: 200 });
  expect(live.hits).toBe(200);
  // The dead backend really was tried (about every other pick) and each refusal was retried.
  expect(failures().length).toBeGreaterThanOrEqual(50);
  expect(new Set(failures())).toEqual(new Set(['dead connect_refused retried']));
});

test('a refused POST is retried and its body arrives intact at the live backend', async () => {
  const { proxyUrl, live, failures } = await deadAndLive();
  // Distinct bodies of 1 to 64 KiB, so a truncated, duplicated or swapped body cannot pass.
  const body = (i: number): string => `${i}:`.padEnd(1024 * (1 + (i % 64)), String.fromCharCode(97 + (i % 26)));
  // One at a time: equal weights and the dead backend first in line mean every POST is refused once, then retried.
  const results = await runRequests(proxyUrl, { count: 100, connections: 1, method: 'POST', path: (i) => `/post/${i}`, body });
  expect(results).toHaveLength(100);
  for (const r of results) {
    expect(r.status, r.error ?? r.text).toBe(200);
    const sent = Buffer.from(body(r.i));
    expect(JSON.parse(r.text)).toEqual({ method: 'POST', bytes: sent.length, sha256: createHash('sha256').update(sent).digest('hex') });
  }
  expect(live.hits).toBe(100);
  expect(failures()).toEqual(Array.from({ length: 100 }, () => 'dead connect_refused retried'));
});

test('a refused 4 MiB POST, larger than any socket buffer, is retried whole', async () => {
  const { proxyUrl, live, failures } = await deadAndLive();
  const sent = Buffer.alloc(4 * 1024 * 1024, 'turnout-');
  const results = await runRequests(proxyUrl, { count: 1, connections: 1, method: 'POST', path: () => '/big', body: () => sent.toString() });
  expect(results.map((r) => r.error ?? r.status)).toEqual([200]);
  expect(JSON.parse(results[0]?.text ?? '{}')).toEqual({ method: 'POST', bytes: sent.length, sha256: createHash('sha256').update(sent).digest('hex') });
  expect(live.hits).toBe(1);
  expect(failures()).toEqual(['dead connect_refused retried']);
});
