import type { Handler, TestBackend } from '../helpers/backends.js';
import { api } from '../helpers/turnout.js';
import type { AdminAt } from '../helpers/turnout.js';
import { sleep } from '../helpers/time.js';

/** Two pools, stable at 100 %, canary at 0 (the rollout tests' service). */
export function twoPools(stable: TestBackend, canary: TestBackend, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...extra,
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { stable: [{ id: 'stable-1', url: stable.url }], canary: [{ id: 'canary-1', url: canary.url }] },
        split: { stable: 100, canary: 0 },
        outlier: false,
      },
    },
  };
}

/** A backend answering 500 to `errorsPer100` of each 100 requests (spread evenly), after `delayMs`. */
export function erring(errorsPer100: number, delayMs = 0, bad: () => boolean = () => false): Handler {
  let n = 0;
  return (req, res) => {
    req.resume();
    const i = n++ % 100;
    const fail = bad() || Math.floor(((i + 1) * errorsPer100) / 100) > Math.floor((i * errorsPer100) / 100);
    const send = (): void => {
      res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' });
      res.end(fail ? 'boom' : 'ok');
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  };
}

/** Polls the current rollout until it is in one of `states` (or `ms` passed): the last view. */
export async function waitRollout(t: AdminAt, states: readonly string[], ms: number, service = 'web'): Promise<any> {
  const end = Date.now() + ms;
  let r: any;
  while (Date.now() < end) {
    r = (await api(t, 'GET', `/v1/services/${service}/rollouts/current`)).body.rollout;
    if (states.includes(r?.state)) return r;
    await sleep(100);
  }
  return r;
}

export interface HookCall {
  readonly path: string;
  readonly body: Record<string, any>;
}

/** A real HTTP server recording every webhook call; `answer` picks the status per call. */
export async function startHookServer(answer: (call: HookCall, calls: readonly HookCall[]) => number = () => 200): Promise<{ url: string; calls: HookCall[] }> {
  const { createServer } = await import('node:http');
  const { onTestFinished } = await import('vitest');
  const calls: HookCall[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      const call = { path: req.url ?? '/', body: JSON.parse(text || '{}') as Record<string, any> };
      calls.push(call);
      res.writeHead(answer(call, calls));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const a = server.address() as { port: number };
  return { url: `http://127.0.0.1:${a.port}`, calls };
}
