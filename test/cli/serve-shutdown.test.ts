import net from 'node:net';
import { request } from 'undici';
import { expect, test } from 'vitest';
import { startBackend } from '../helpers/backends.js';
import { clientAgent } from '../helpers/http.js';
import { until } from '../helpers/time.js';
import { accepts, freePort, spawnTurnout, tempDir, waitExit, waitReady, writeYaml } from '../helpers/serve.js';

// SPEC "Draining", the proxy's own SIGTERM: /readyz turns 503 at once, the listener stops
// accepting, in-flight requests finish, keep-alive clients get Connection: close, then exit 0.

const SLOW_MS = 2000;

interface Done {
  status: number;
  connection: string | undefined;
  body: string;
  endedAt: number;
}

/** One HTTP/1.1 request on a raw keep-alive socket; resolves when the server closes the socket. */
function keepAliveRequest(port: number, path: string): Promise<{ text: string; endedAt: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n`));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), endedAt: Date.now() }));
  });
}

test('SIGTERM with requests in flight: all finish with 200 and Connection: close, /readyz is 503, new connections are refused, exit 0 right after', async () => {
  const backend = await startBackend('slow-1');
  const dir = await tempDir();
  const [listenPort, adminPort] = [await freePort(), await freePort()];
  const configFile = await writeYaml(dir, 'turnout.yaml', {
    listen: { host: '127.0.0.1', port: listenPort },
    admin: { host: '127.0.0.1', port: adminPort },
    state: { store: 'memory' },
    log: { level: 'warn' },
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { blue: [{ id: 'slow-1', url: backend.url }] },
        timeouts: { response: '10s' },
      },
    },
  });
  const proc = spawnTurnout(['serve', '--config', configFile], { env: { TURNOUT_ADMIN_TOKEN: 't' } });
  await waitReady(proc, adminPort);

  const agent = clientAgent(8);
  let finished = 0;
  const inFlight: Promise<Done>[] = Array.from({ length: 4 }, async () => {
    const res = await request(`http://127.0.0.1:${listenPort}/slow?ms=${SLOW_MS}`, { dispatcher: agent });
    const body = await res.body.text();
    finished++;
    return { status: res.statusCode, connection: res.headers.connection as string | undefined, body, endedAt: Date.now() };
  });
  const raw = keepAliveRequest(listenPort, `/slow?ms=${SLOW_MS}`).then((r) => {
    finished++;
    return r;
  });
  await until('5 requests at the backend', () => backend.hits === 5, 5000);

  const sigtermAt = Date.now();
  proc.child.kill('SIGTERM');

  let ready = 0;
  await until(
    '/readyz to answer 503',
    async () => {
      ready = (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status;
      return ready === 503;
    },
    SLOW_MS,
  );
  expect(finished, 'requests ended before /readyz turned 503').toBe(0);
  expect(await accepts(listenPort)).toBe(false);
  expect(finished, 'requests ended before the refused connection was checked').toBe(0);

  const answers = await Promise.all(inFlight);
  for (const a of answers) {
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body).backend).toBe('slow-1');
    expect(a.connection).toBe('close');
  }
  // The raw keep-alive client: 200, told to close, and the proxy closed it (the promise settles on close).
  const r = await raw;
  const head = r.text.slice(0, r.text.indexOf('\r\n\r\n')).toLowerCase();
  expect(head).toMatch(/^http\/1\.1 200/);
  expect(head).toMatch(/\r\nconnection: close(\r\n|$)/);
  expect(r.text).toContain('"backend":"slow-1"');

  const exit = await waitExit(proc, 20_000);
  expect(exit.code, proc.output.stderr).toBe(0);
  const lastEnded = Math.max(r.endedAt, ...answers.map((a) => a.endedAt));
  // Soon after the last request (a few hundred ms when idle), far inside the 30 s default drain
  // timeout it would otherwise wait for; the bounds leave room for a loaded machine.
  expect(exit.at - lastEnded).toBeLessThan(8000);
  expect(exit.at - sigtermAt).toBeLessThan(15_000);
});

test('SIGTERM with nothing in flight but an idle keep-alive client connection exits 0 promptly', async () => {
  const backend = await startBackend('b1');
  const dir = await tempDir();
  const [listenPort, adminPort] = [await freePort(), await freePort()];
  const configFile = await writeYaml(dir, 'turnout.yaml', {
    listen: { host: '127.0.0.1', port: listenPort },
    admin: { host: '127.0.0.1', port: adminPort },
    state: { store: 'memory' },
    log: { level: 'warn' },
    services: { web: { routes: [{ host: '*' }], pools: { blue: [{ id: 'b1', url: backend.url }] } } },
  });
  const proc = spawnTurnout(['serve', '--config', configFile], { env: { TURNOUT_ADMIN_TOKEN: 't' } });
  await waitReady(proc, adminPort);

  // An idle keep-alive connection after one answered request.
  const socket = net.connect(listenPort, '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.write('GET / HTTP/1.1\r\nHost: app.test\r\n\r\n');
  await until('the first answer', () => received.includes('"backend":"b1"'), 5000);
  expect(received.toLowerCase()).toContain('connection: keep-alive');

  const sigtermAt = Date.now();
  proc.child.kill('SIGTERM');
  const exit = await waitExit(proc, 20_000);
  expect(exit.code, proc.output.stderr).toBe(0);
  expect(exit.at - sigtermAt).toBeLessThan(10_000);
  await closed;
});
