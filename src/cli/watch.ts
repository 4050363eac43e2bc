import type { TrafficSnapshot } from '../telemetry/index.js';
import { ApiError } from './client.js';

const pct = (v: number): string => `${(Math.round(v * 10_000) / 100).toFixed(2)}%`;
/** The share of a pool's requests over HTTP/2, in whole percent ("-" from a turnout that does not say). */
const share = (v: number | undefined): string => (v === undefined ? '-' : `${Math.round(v * 100)}%`);

export function formatSnapshot(s: TrafficSnapshot, only: string | undefined): string {
  const lines = [`revision ${s.revision} · ${s.time} · figures over the last ${s.windowSeconds}s`];
  for (const svc of s.services) {
    if (only !== undefined && svc.name !== only) continue;
    lines.push('', `${svc.name}  ${svc.rps} req/s`);
    lines.push(`  ${'pool/backend'.padEnd(22)} ${'split'.padStart(7)} ${'req/s'.padStart(8)} ${'errors'.padStart(7)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'h2'.padStart(5)} ${'in-flight'.padStart(9)}  state`);
    for (const p of svc.pools) {
      lines.push(
        `  ${p.name.padEnd(22)} ${`${p.split}%`.padStart(7)} ${String(p.rps).padStart(8)} ${pct(p.errorRate).padStart(7)} ${`${p.p50Ms}ms`.padStart(7)} ${`${p.p99Ms}ms`.padStart(7)} ${share(p.h2Share).padStart(5)} ${String(p.inFlight).padStart(9)}`,
      );
      for (const b of p.backends) {
        const state = [b.state, b.health, b.ejected ? 'ejected' : '', `w=${b.weight}`].filter(Boolean).join(' ');
        lines.push(
          `    ${b.id.padEnd(20)} ${''.padStart(7)} ${String(b.rps).padStart(8)} ${pct(b.errorRate).padStart(7)} ${''.padStart(7)} ${`${b.p99Ms}ms`.padStart(7)} ${''.padStart(5)} ${String(b.inFlight).padStart(9)}  ${state}`,
        );
      }
    }
    const m = svc.mirror;
    if (m !== undefined) {
      // The copies' own figures: never counted in the pools above.
      lines.push(
        `  ${`${m.pool} · mirror`.padEnd(22)} ${`${m.percent}%`.padStart(7)} ${String(m.rps).padStart(8)} ${pct(m.errorRate).padStart(7)} ${`${m.p50Ms}ms`.padStart(7)} ${`${m.p99Ms}ms`.padStart(7)} ${''.padStart(5)} ${''.padStart(9)}  copies, answers discarded`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * `turnout status --watch`: follows `/v1/stream` and redraws the live traffic table every second
 * (a terminal) or prints one snapshot per line as JSON with --json. Stops after `count` snapshots
 * when given, else on Ctrl-C.
 */
export async function watchStatus(
  baseUrl: string,
  token: string | undefined,
  opts: { service: string | undefined; json: boolean; count: number | undefined },
): Promise<number> {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  let res: Response;
  try {
    res = await fetch(new URL('/v1/stream', baseUrl), {
      headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: ac.signal,
    });
  } catch (err) {
    throw new ApiError(0, 'unreachable', `cannot reach the admin API at ${baseUrl}: ${(err as Error).message}`, undefined);
  }
  if (res.status !== 200 || res.body === null) {
    const text = await res.text();
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, 'stream', msg, undefined);
  }
  const tty = process.stdout.isTTY === true && !opts.json;
  const decoder = new TextDecoder();
  let buf = '';
  let seen = 0;
  try {
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (!block.includes('event: snapshot') || data === '') continue;
        const snap = JSON.parse(data) as TrafficSnapshot;
        if (opts.json) process.stdout.write(`${JSON.stringify(snap)}\n`);
        else process.stdout.write(`${tty ? '\x1b[H\x1b[2J' : ''}${formatSnapshot(snap, opts.service)}\n${tty ? '' : '\n'}`);
        seen++;
        if (opts.count !== undefined && seen >= opts.count) {
          ac.abort();
          return 0;
        }
      }
    }
  } catch (err) {
    if (ac.signal.aborted) return 0;
    throw new ApiError(0, 'stream', `the stream ended: ${(err as Error).message}`, undefined);
  }
  return 0;
}
