import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { parseDuration } from '../util/index.js';
import { AdminClient, ApiError } from './client.js';
import { runRollout } from './rollout.js';
import { watchStatus } from './watch.js';

const USAGE = `turnout — reverse proxy and traffic switch for zero-downtime deploys

Usage:
  turnout [serve] [--config FILE] [--reset-state]     run the proxy (default config: ./turnout.yaml)
  turnout status [SVC] [--watch [--count N]]          services, splits and backends (--watch: live traffic)
  turnout flip SVC POOL [--wait]                      100 % to POOL (--wait: until the old pools are drained)
  turnout canary SVC POOL PERCENT                     give POOL a share, the rest to the largest other pool
  turnout rollback SVC                                restore the split before the last change
  turnout register SVC POOL ID URL [--weight N]       add a backend
  turnout deregister SVC POOL ID [--timeout 30s] [--wait]
                                                      drain and remove a backend
  turnout history SVC                                 the last changes
  turnout rollout SVC POOL --steps 1,5,25,100 --step-duration 60s
          [--max-error-rate 0.01] [--max-p99 500ms] [--min-requests N] [--max-wait 60s]
                                                      automated canary, followed with a progress bar
                                                      (exit 0 promoted, 1 rolled back or aborted)

Client options (or TURNOUT_ADMIN_URL, TURNOUT_ADMIN_TOKEN):
  --admin URL      admin API (default http://127.0.0.1:9901)
  --token TOKEN    bearer token
  --actor NAME     recorded in history (X-Turnout-Actor)
  --json           print the API's answer as it is
  --dry-run        validate and show the result, change nothing
  --force          allow a share for a pool with no eligible backend

Exit codes: 0 success, 1 refused or failed call, 2 bad usage.
`;

class UsageError extends Error {}

const CLIENT_OPTIONS = {
  admin: { type: 'string' },
  token: { type: 'string' },
  actor: { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  weight: { type: 'string' },
  timeout: { type: 'string' },
  wait: { type: 'boolean' },
  watch: { type: 'boolean' },
  count: { type: 'string' },
  steps: { type: 'string' },
  'step-duration': { type: 'string' },
  'max-error-rate': { type: 'string' },
  'max-p99': { type: 'string' },
  'min-requests': { type: 'string' },
  'max-wait': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type ClientValues = { [K in keyof typeof CLIENT_OPTIONS]?: (typeof CLIENT_OPTIONS)[K]['type'] extends 'string' ? string : boolean };

export async function main(argv: readonly string[]): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === 'serve' || first.startsWith('--config') || first === '--reset-state') {
    return runServe(first === 'serve' ? argv.slice(1) : argv);
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (first === '--version' || first === 'version') {
    process.stdout.write('turnout 0.1.0\n');
    return 0;
  }
  try {
    return await runClient(first, argv.slice(1));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`turnout: ${err.message}\nRun "turnout --help" for usage.\n`);
      return 2;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`turnout: ${err.status > 0 ? `${err.status} ${err.code}: ` : ''}${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function runServe(args: readonly string[]): Promise<number> {
  let values: { config?: string | undefined; 'reset-state'?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { config: { type: 'string', short: 'c' }, 'reset-state': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`turnout: ${(err as Error).message}\nRun "turnout --help" for usage.\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  // Loaded only here: the proxy's dependencies cost client commands about a second of start-up.
  const { serve } = await import('./serve.js');
  return serve({ configFile: values.config ?? process.env.TURNOUT_CONFIG ?? 'turnout.yaml', resetState: values['reset-state'] ?? false });
}

function parseClient(args: readonly string[]): { values: ClientValues; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...args], options: CLIENT_OPTIONS, allowPositionals: true, strict: true });
    return { values: r.values as ClientValues, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function need(positionals: string[], names: string[], command: string): string[] {
  if (positionals.length !== names.length) {
    throw new UsageError(`${command} takes ${names.join(' ')}${positionals.length > names.length ? `; unexpected "${positionals[names.length]}"` : ''}`);
  }
  return positionals;
}

const enc = encodeURIComponent;

async function runClient(command: string, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseClient(args);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const client = new AdminClient({
    baseUrl: values.admin ?? process.env.TURNOUT_ADMIN_URL ?? 'http://127.0.0.1:9901',
    token: values.token ?? process.env.TURNOUT_ADMIN_TOKEN,
    actor: values.actor ?? process.env.TURNOUT_ACTOR,
  });
  const q = (extra: Record<string, string | undefined> = {}): string => {
    const p = new URLSearchParams();
    if (values['dry-run']) p.set('dryRun', 'true');
    if (values.force) p.set('force', 'true');
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) p.set(k, v);
    const s = p.toString();
    return s === '' ? '' : `?${s}`;
  };
  const out = (body: unknown, human: () => string): number => {
    process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : `${human()}\n`);
    return 0;
  };

  switch (command) {
    case 'status': {
      if (positionals.length > 1) throw new UsageError('status takes at most one service');
      const svc = positionals[0];
      if (values.watch) {
        let count: number | undefined;
        if (values.count !== undefined) {
          count = Number(values.count);
          if (!Number.isInteger(count) || count < 1) throw new UsageError(`--count must be a whole number >= 1, got "${values.count}"`);
        }
        return watchStatus(values.admin ?? process.env.TURNOUT_ADMIN_URL ?? 'http://127.0.0.1:9901', values.token ?? process.env.TURNOUT_ADMIN_TOKEN, {
          service: svc,
          json: values.json === true,
          count,
        });
      }
      if (svc !== undefined) {
        const r = await client.call<{ revision: number; service: ServiceView }>('GET', `/v1/services/${enc(svc)}`);
        return out(r.body, () => `revision ${r.body.revision}\n${formatService(r.body.service)}`);
      }
      const r = await client.call<{ revision: number; services: ServiceView[] }>('GET', '/v1/services');
      return out(r.body, () => `revision ${r.body.revision}\n${r.body.services.map(formatService).join('\n')}`);
    }
    case 'flip': {
      const [svc, pool] = need(positionals, ['SVC', 'POOL'], 'flip') as [string, string];
      const r = await client.call<{ revision: number; service: ServiceView; drained?: boolean; inFlight?: number }>(
        'POST',
        `/v1/services/${enc(svc)}/flip${q({ wait: values.wait ? 'drained' : undefined })}`,
        { to: pool },
      );
      return out(r.body, () => {
        const drained = r.body.drained === undefined ? '' : r.body.drained ? '; old pools drained' : `; drain timeout with ${r.body.inFlight} still in flight`;
        return `${values['dry-run'] ? '(dry run) ' : ''}${svc}: ${formatSplit(r.body.service.split)} (revision ${r.body.revision})${drained}`;
      });
    }
    case 'canary': {
      const [svc, pool, pct] = need(positionals, ['SVC', 'POOL', 'PERCENT'], 'canary') as [string, string, string];
      const percent = Number(pct.replace(/%$/, ''));
      if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new UsageError(`PERCENT must be a number 0..100, got "${pct}"`);
      const r = await client.call<{ revision: number; service: ServiceView }>('POST', `/v1/services/${enc(svc)}/canary${q()}`, { pool, percent });
      return out(r.body, () => `${values['dry-run'] ? '(dry run) ' : ''}${svc}: ${formatSplit(r.body.service.split)} (revision ${r.body.revision})`);
    }
    case 'rollback': {
      const [svc] = need(positionals, ['SVC'], 'rollback') as [string];
      const r = await client.call<{ revision: number; service: ServiceView }>('POST', `/v1/services/${enc(svc)}/rollback${q()}`);
      return out(r.body, () => `${values['dry-run'] ? '(dry run) ' : ''}${svc}: ${formatSplit(r.body.service.split)} (revision ${r.body.revision})`);
    }
    case 'register': {
      const [svc, pool, id, url] = need(positionals, ['SVC', 'POOL', 'ID', 'URL'], 'register') as [string, string, string, string];
      let weight: number | undefined;
      if (values.weight !== undefined) {
        weight = Number(values.weight);
        if (!Number.isInteger(weight) || weight < 0 || weight > 1000) throw new UsageError(`--weight must be an integer 0..1000, got "${values.weight}"`);
      }
      const r = await client.call<{ revision: number; backend: BackendView }>('POST', `/v1/services/${enc(svc)}/pools/${enc(pool)}/backends${q()}`, {
        id,
        url,
        ...(weight !== undefined ? { weight } : {}),
      });
      return out(r.body, () => `${values['dry-run'] ? '(dry run) ' : ''}registered ${svc}/${pool}/${id} ${r.body.backend.url} weight ${r.body.backend.weight}, health ${r.body.backend.health} (revision ${r.body.revision})`);
    }
    case 'deregister': {
      const [svc, pool, id] = need(positionals, ['SVC', 'POOL', 'ID'], 'deregister') as [string, string, string];
      if (values.timeout !== undefined && parseDuration(values.timeout) === undefined) throw new UsageError(`--timeout must be a duration like 30s, got "${values.timeout}"`);
      const path = `/v1/services/${enc(svc)}/pools/${enc(pool)}/backends/${enc(id)}`;
      const r = await client.call<{ revision: number; backend: BackendView }>('DELETE', `${path}${q({ timeout: values.timeout })}`);
      if (!values.wait || values['dry-run']) {
        return out(r.body, () => `${values['dry-run'] ? '(dry run) ' : ''}draining ${svc}/${pool}/${id}: ${r.body.backend.inFlight} in flight, deadline ${r.body.backend.drain?.deadline ?? '-'}`);
      }
      return waitRemoved(client, path, `/v1/services/${enc(svc)}`, r.body, values.json === true, `${svc}/${pool}/${id}`);
    }
    case 'history': {
      const [svc] = need(positionals, ['SVC'], 'history') as [string];
      const r = await client.call<{ revision: number; history: HistoryView[] }>('GET', `/v1/services/${enc(svc)}/history`);
      return out(r.body, () =>
        r.body.history.length === 0
          ? 'no changes yet'
          : r.body.history.map((h) => `${String(h.revision).padStart(5)}  ${h.time}  ${h.action.padEnd(10)} ${h.actor.padEnd(16)} ${summarize(h.before)} → ${summarize(h.after)}`).join('\n'),
      );
    }
    case 'rollout': {
      const [svc, pool] = need(positionals, ['SVC', 'POOL'], 'rollout') as [string, string];
      if (values.steps === undefined) throw new UsageError('rollout needs --steps, e.g. --steps 1,5,25,100');
      const steps = values.steps.split(',').map((x) => Number(x.trim().replace(/%$/, '')));
      if (steps.some((x) => !Number.isFinite(x) || x <= 0 || x > 100)) throw new UsageError(`--steps must be percents in (0, 100] separated by commas, got "${values.steps}"`);
      const stepDuration = values['step-duration'] ?? '60s';
      if (parseDuration(stepDuration) === undefined) throw new UsageError(`--step-duration must be a duration like 60s, got "${stepDuration}"`);
      const gates: Record<string, number | string> = {};
      if (values['max-error-rate'] !== undefined) {
        const v = Number(values['max-error-rate']);
        if (!Number.isFinite(v) || v < 0 || v > 1) throw new UsageError(`--max-error-rate must be a fraction 0..1, got "${values['max-error-rate']}"`);
        gates.maxErrorRate = v;
      }
      if (values['max-p99'] !== undefined) {
        const v = parseDuration(values['max-p99']);
        if (v === undefined || v <= 0) throw new UsageError(`--max-p99 must be a duration like 500ms, got "${values['max-p99']}"`);
        gates.maxP99Ms = v;
      }
      if (values['min-requests'] !== undefined) {
        const v = Number(values['min-requests']);
        if (!Number.isInteger(v) || v < 0) throw new UsageError(`--min-requests must be a whole number, got "${values['min-requests']}"`);
        gates.minRequests = v;
      }
      if (values['max-wait'] !== undefined) {
        if (parseDuration(values['max-wait']) === undefined) throw new UsageError(`--max-wait must be a duration like 60s, got "${values['max-wait']}"`);
        gates.maxWait = values['max-wait'];
      }
      return runRollout(client, {
        service: svc,
        pool,
        steps,
        stepDuration,
        gates,
        json: values.json === true,
        dryRun: values['dry-run'] === true,
        force: values.force === true,
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Polls the draining backend until it is gone, showing the in-flight count falling on a terminal. */
async function waitRemoved(
  client: AdminClient,
  path: string,
  servicePath: string,
  first: { revision: number; backend: BackendView },
  json: boolean,
  label: string,
): Promise<number> {
  const tty = process.stderr.isTTY === true && !json;
  const deadline = Date.parse(first.backend.drain?.deadline ?? '') || Date.now() + 30_000;
  let last = first.backend;
  const started = Date.now();
  for (;;) {
    if (tty) {
      const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      process.stderr.write(`\r\x1b[Kdraining ${label}: ${last.inFlight} in flight, ${left}s to deadline`);
    }
    try {
      const r = await client.call<{ backend: BackendView }>('GET', path);
      last = r.body.backend;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) break;
      throw err;
    }
    if (Date.now() > deadline + 15_000) {
      if (tty) process.stderr.write('\n');
      throw new ApiError(0, 'timeout', `${label} was not removed by its drain deadline`, undefined);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (tty) process.stderr.write('\r\x1b[K');
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (json) {
    // The shape of DELETE ?wait=true's answer, with the revision that has the backend removed.
    const { body } = await client.call<{ revision: number }>('GET', servicePath);
    process.stdout.write(`${JSON.stringify({ revision: body.revision, backend: { ...last, inFlight: 0 }, removed: true }, null, 2)}\n`);
  } else {
    process.stdout.write(`removed ${label} after ${secs}s\n`);
  }
  return 0;
}

interface BackendView {
  id: string;
  url: string;
  weight: number;
  effectiveWeight: number;
  state: string;
  health: string;
  ejected: boolean;
  inFlight: number;
  drain?: { deadline: string; inFlight: number };
}
interface ServiceView {
  name: string;
  split: Record<string, number>;
  pools: Record<string, { backends: BackendView[] }>;
}
interface HistoryView {
  revision: number;
  time: string;
  actor: string;
  action: string;
  before: unknown;
  after: unknown;
}

function formatSplit(split: Record<string, number>): string {
  return Object.entries(split)
    .map(([p, v]) => `${p} ${v}%`)
    .join(', ');
}

function formatService(s: ServiceView): string {
  const lines = [`${s.name}  split: ${formatSplit(s.split)}`];
  for (const [pool, p] of Object.entries(s.pools)) {
    lines.push(`  ${pool} (${s.split[pool] ?? 0}%)`);
    if (p.backends.length === 0) lines.push('    (no backends)');
    for (const b of p.backends) {
      const flags = [b.state, b.health, b.ejected ? 'ejected' : ''].filter(Boolean).join(' ');
      lines.push(`    ${b.id.padEnd(16)} ${b.url.padEnd(28)} w=${String(b.weight).padEnd(4)} ${flags.padEnd(22)} in-flight ${b.inFlight}`);
    }
  }
  return lines.join('\n');
}

function summarize(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('id' in o) return `${String(o.pool ?? '')}/${String(o.id)} ${String(o.state ?? '')} w=${String(o.weight ?? '')}`;
    return formatSplit(o as Record<string, number>);
  }
  return String(v);
}
