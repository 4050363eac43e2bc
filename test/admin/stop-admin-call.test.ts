import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, onTestFinished, test } from 'vitest';
import { parseRawResponse } from '../helpers/raw.js';
import { PROCESS_MODELS, TOKEN, startTestTurnout } from '../helpers/turnout.js';
import { sleep, until } from '../helpers/time.js';

/** How long stop() may take once the call in flight is answered (it has nothing else to wait for). */
const STOP_MS = 2000;

describe.each(PROCESS_MODELS)('stop() with an admin call in flight ($name)', ({ workers }) => {
  // Regression: an admin answer written after close()
  // began goes out with Connection: keep-alive, and fastify's close() waits for that connection
  // until its keepAliveTimeout (72 s), so stop() and `turnout serve`'s exit on SIGTERM hang when a
  // keep-alive client's call (a deploy tool's DELETE ?wait=true) is answered during shutdown.
  test('the call still gets its answer, with Connection: close, and stop() resolves promptly', async () => {
    const t = await startTestTurnout({ services: { web: { routes: [{ host: '*', pathPrefix: '/' }], pools: { blue: [{ id: 'b', url: 'http://127.0.0.1:1' }] } } } }, { workers });
    // A keep-alive client whose call is in flight when the admin listener closes: its body comes after.
    const body = JSON.stringify({ split: { blue: 100 } });
    const socket = net.connect(Number(new URL(t.adminUrl).port), '127.0.0.1');
    onTestFinished(() => {
      socket.destroy();
    });
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    // Expect: 100-continue: the server says when it has the head, so the call is in flight before stop().
    socket.write(
      `PUT /v1/services/web/split HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await until('the server has the head', () => received.startsWith('HTTP/1.1 100 Continue\r\n\r\n'));
    received = '';
    const stopped = t.stop(200).then(() => true);
    await until('the admin listener closes', () => !t.admin.server.listening);
    socket.write(body);
    await until('the answer', () => received.includes('\r\n\r\n'));
    const answer = parseRawResponse(received);
    const inTime = await Promise.race([stopped, sleep(STOP_MS).then(() => false)]);
    // Let the stop finish for the teardown either way.
    socket.destroy();
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    expect(inTime, `stop() resolved within ${STOP_MS} ms of the answer`).toBe(true);
  });
});
