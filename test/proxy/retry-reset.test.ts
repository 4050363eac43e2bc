import type { Socket } from 'node:net';
import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { get } from '../helpers/http.js';
import { readHead, startRawBackend } from '../helpers/raw.js';
import { startTestTurnout } from '../helpers/turnout.js';

/*
 * SPEC: idempotent methods may be retried on a reset with no response byte; other methods only when
 * nothing reached the backend. A backend that reads the request and then resets has seen it.
 */

async function resetterAndLive(): Promise<{ proxyUrl: string; seen: () => number; live: { hits: number } }> {
  let seen = 0;
  const resetter = await startRawBackend((socket: Socket) => {
    void readHead(socket).then(() => {
      seen++;
      socket.resetAndDestroy();
    });
  });
  const live = await startBackend('live');
  // The resetter first in line and equal weights: every request goes to it first.
  const t = await startTestTurnout(
    webService({
      blue: [
        { id: 'resetter', url: resetter.url },
        { id: 'live', url: live.url },
      ],
    }),
  );
  return { proxyUrl: t.proxyUrl, seen: () => seen, live };
}

test.each(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])('%s (no body) reset with no response byte is retried once on the other backend', async (method) => {
  const { proxyUrl, seen, live } = await resetterAndLive();
  const res = await get(`${proxyUrl}/r`, { method });
  expect(res.status).toBe(200);
  expect(res.headers['x-backend']).toBe('live');
  expect([seen(), live.hits]).toEqual([1, 1]);
});

// PUT with a body: idempotent, but its body has been streamed to the first backend and cannot be
// sent again ("when bodies allow").
test.each(['POST', 'PATCH', 'PUT'])('%s with a body, reset after the backend read it, is not retried: 502', async (method) => {
  const { proxyUrl, seen, live } = await resetterAndLive();
  const res = await get(`${proxyUrl}/r`, { method, body: 'once only' });
  expect(res.status).toBe(502);
  expect(res.headers['x-turnout-error']).toBe('upstream_error');
  expect([seen(), live.hits]).toEqual([1, 0]);
});
