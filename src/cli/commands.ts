import { parseDuration } from '../util/index.js';
import { ApiError } from './client.js';
import type { AdminClient } from './client.js';
import { UsageError, WRITE_OPTIONS, defineCommand, duration, wholeNumber, writeQuery } from './command.js';
import type { Command } from './command.js';
import { formatHistory, formatReload, formatService, formatSplit, formatUpgrade } from './format.js';
import type { UpgradeAnswer } from './format.js';
import { MIRROR_COMMAND } from './mirror.js';
import { ROLLOUT_COMMANDS, readRolloutFile } from './rollout-commands.js';
import { runRollout } from './rollout.js';
import type { BackendAnswer, BackendView, HistoryAnswer, ReloadAnswer, ServiceAnswer, ServicesAnswer } from './views.js';
import { watchStatus } from './watch.js';

const enc = encodeURIComponent;
const dryRun = (values: { readonly 'dry-run'?: boolean }): string => (values['dry-run'] ? '(dry run) ' : '');
/** How a command that moves the split reports: `web: blue 90%, green 10% (revision 2)`. */
const splitLine = (a: ServiceAnswer, args: { positionals: { SVC: string }; values: { 'dry-run'?: boolean } }): string =>
  `${dryRun(args.values)}${args.positionals.SVC}: ${formatSplit(a.service.split)} (revision ${a.revision})`;

/** The client commands, in the order `turnout --help` lists them. */
export const CLIENT_COMMANDS: readonly Command[] = [
  defineCommand({
    name: 'status',
    usage: 'turnout status [SVC] [--watch [--count N]]          services, splits and backends (--watch: live traffic)',
    positionals: ['SVC?'],
    options: { watch: { type: 'boolean' }, count: { type: 'string' } },
    async run({ positionals, values, client, admin }) {
      if (values.watch) {
        const count = values.count === undefined ? undefined : wholeNumber('--count', values.count, 1);
        return { exitCode: await watchStatus(admin.url, admin.token, { service: positionals.SVC, json: values.json === true, count }) };
      }
      const path = positionals.SVC === undefined ? '/v1/services' : `/v1/services/${enc(positionals.SVC)}`;
      return { answer: (await client.call<ServicesAnswer | ServiceAnswer>('GET', path)).body };
    },
    format: (a) => `revision ${a.revision}\n${('service' in a ? [a.service] : a.services).map(formatService).join('\n')}`,
  }),
  defineCommand({
    name: 'flip',
    usage: 'turnout flip SVC POOL [--wait]                      100 % to POOL (--wait: until the old pools are drained)',
    positionals: ['SVC', 'POOL'],
    options: { ...WRITE_OPTIONS, wait: { type: 'boolean' } },
    async run({ positionals, values, client }) {
      const path = `/v1/services/${enc(positionals.SVC)}/flip${writeQuery(values, { wait: values.wait ? 'drained' : undefined })}`;
      return { answer: (await client.call<ServiceAnswer>('POST', path, { to: positionals.POOL })).body };
    },
    format(a, args) {
      const drained = a.drained === undefined ? '' : a.drained ? '; old pools drained' : `; drain timeout with ${a.inFlight} still in flight`;
      return `${splitLine(a, args)}${drained}`;
    },
  }),
  defineCommand({
    name: 'canary',
    usage: 'turnout canary SVC POOL PERCENT                     give POOL a share, the rest to the largest other pool',
    positionals: ['SVC', 'POOL', 'PERCENT'],
    options: WRITE_OPTIONS,
    async run({ positionals, values, client }) {
      const text = positionals.PERCENT;
      const percent = Number(text.replace(/%$/, ''));
      if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new UsageError(`PERCENT must be a number 0..100, got "${text}"`);
      const path = `/v1/services/${enc(positionals.SVC)}/canary${writeQuery(values)}`;
      return { answer: (await client.call<ServiceAnswer>('POST', path, { pool: positionals.POOL, percent })).body };
    },
    format: splitLine,
  }),
  defineCommand({
    name: 'rollback',
    usage: 'turnout rollback SVC                                restore the split before the last change',
    positionals: ['SVC'],
    options: WRITE_OPTIONS,
    async run({ positionals, values, client }) {
      return { answer: (await client.call<ServiceAnswer>('POST', `/v1/services/${enc(positionals.SVC)}/rollback${writeQuery(values)}`)).body };
    },
    format: splitLine,
  }),
  defineCommand({
    name: 'register',
    usage: 'turnout register SVC POOL ID URL [--weight N]       add a backend',
    positionals: ['SVC', 'POOL', 'ID', 'URL'],
    options: { ...WRITE_OPTIONS, weight: { type: 'string' } },
    async run({ positionals: p, values, client }) {
      const weight = values.weight === undefined ? undefined : wholeNumber('--weight', values.weight, 0, 1000, 'an integer 0..1000');
      const path = `/v1/services/${enc(p.SVC)}/pools/${enc(p.POOL)}/backends${writeQuery(values)}`;
      return { answer: (await client.call<BackendAnswer>('POST', path, { id: p.ID, url: p.URL, ...(weight !== undefined ? { weight } : {}) })).body };
    },
    format: ({ backend: b, revision }, { positionals: p, values }) =>
      `${dryRun(values)}registered ${p.SVC}/${p.POOL}/${p.ID} ${b.url} weight ${b.weight}, health ${b.health} (revision ${revision})`,
  }),
  defineCommand({
    name: 'deregister',
    usage:
      'turnout deregister SVC POOL ID [--timeout 30s] [--wait]\n' +
      '                                                    drain and remove a backend',
    positionals: ['SVC', 'POOL', 'ID'],
    options: { 'dry-run': WRITE_OPTIONS['dry-run'], timeout: { type: 'string' }, wait: { type: 'boolean' } },
    async run({ positionals: p, values, client }) {
      const timeout = values.timeout === undefined ? undefined : duration('--timeout', values.timeout, '30s');
      const path = `/v1/services/${enc(p.SVC)}/pools/${enc(p.POOL)}/backends/${enc(p.ID)}`;
      const answer = (await client.call<BackendAnswer>('DELETE', `${path}${writeQuery(values, { timeout })}`)).body;
      if (!values.wait || values['dry-run']) return { answer };
      return { exitCode: await waitRemoved(client, path, `/v1/services/${enc(p.SVC)}`, answer.backend, values.json === true, `${p.SVC}/${p.POOL}/${p.ID}`) };
    },
    format: ({ backend: b }, { positionals: p, values }) =>
      `${dryRun(values)}draining ${p.SVC}/${p.POOL}/${p.ID}: ${b.inFlight} in flight, deadline ${b.drain?.deadline ?? '-'}`,
  }),
  defineCommand({
    name: 'history',
    usage: 'turnout history SVC                                 the last changes',
    positionals: ['SVC'],
    options: {},
    async run({ positionals, client }) {
      return { answer: (await client.call<HistoryAnswer>('GET', `/v1/services/${enc(positionals.SVC)}/history`)).body };
    },
    format: (a) => formatHistory(a.history),
  }),
  defineCommand({
    name: 'reload',
    usage: 'turnout reload [--dry-run]                          apply the config file again (services, settings, listener)',
    positionals: [],
    options: { 'dry-run': WRITE_OPTIONS['dry-run'] },
    async run({ values, client }) {
      return { answer: (await client.call<ReloadAnswer>('POST', `/v1/config/reload${writeQuery(values)}`)).body };
    },
    format: formatReload,
  }),
  defineCommand({
    name: 'upgrade',
    usage: 'turnout upgrade [--wait] [--supervisor]             new workers from the code on disk; the old ones drain\n' +
      '                                                    (--wait: until the old workers exited; --supervisor: a new supervisor too)',
    positionals: [],
    options: { 'dry-run': WRITE_OPTIONS['dry-run'], wait: { type: 'boolean' }, supervisor: { type: 'boolean' } },
    async run({ values, client }) {
      const query = writeQuery(values, { wait: values.wait ? 'drained' : undefined, supervisor: values.supervisor ? 'true' : undefined });
      return { answer: (await client.call<UpgradeAnswer>('POST', `/v1/upgrade${query}`)).body };
    },
    format: formatUpgrade,
  }),
  MIRROR_COMMAND,
  defineCommand({
    name: 'rollout',
    usage:
      'turnout rollout SVC POOL --steps 1,5,25,100 --step-duration 60s\n' +
      '        [--max-error-rate 0.01] [--max-p99 500ms] [--min-requests N] [--max-wait 60s]\n' +
      '   or: turnout rollout SVC POOL --file rollout.json   (the whole body: baseline, metrics, webhooks, pauses, blueGreen)\n' +
      '                                                    automated canary, followed with a progress bar\n' +
      '                                                    (exit 0 promoted, 1 rolled back or aborted)',
    positionals: ['SVC', 'POOL'],
    options: {
      ...WRITE_OPTIONS,
      steps: { type: 'string' },
      'step-duration': { type: 'string' },
      'max-error-rate': { type: 'string' },
      'max-p99': { type: 'string' },
      'min-requests': { type: 'string' },
      'max-wait': { type: 'string' },
      file: { type: 'string' },
    },
    async run({ positionals, values, client }) {
      if (values.file !== undefined) {
        const body = await readRolloutFile(values.file);
        const common = { service: positionals.SVC, pool: positionals.POOL, steps: [], stepDuration: '', gates: {}, json: values.json === true };
        return { exitCode: await runRollout(client, { ...common, body, dryRun: values['dry-run'] === true, force: values.force === true }) };
      }
      if (values.steps === undefined) throw new UsageError('rollout needs --steps, e.g. --steps 1,5,25,100');
      const steps = values.steps.split(',').map((x) => Number(x.trim().replace(/%$/, '')));
      if (steps.some((x) => !Number.isFinite(x) || x <= 0 || x > 100)) throw new UsageError(`--steps must be percents in (0, 100] separated by commas, got "${values.steps}"`);
      const stepDuration = duration('--step-duration', values['step-duration'] ?? '60s', '60s');
      const gates: Record<string, number | string> = {};
      const maxErrorRate = values['max-error-rate'];
      if (maxErrorRate !== undefined) {
        const v = Number(maxErrorRate);
        if (!Number.isFinite(v) || v < 0 || v > 1) throw new UsageError(`--max-error-rate must be a fraction 0..1, got "${maxErrorRate}"`);
        gates.maxErrorRate = v;
      }
      const maxP99 = values['max-p99'];
      if (maxP99 !== undefined) {
        const v = parseDuration(maxP99);
        if (v === undefined || v <= 0) throw new UsageError(`--max-p99 must be a duration like 500ms, got "${maxP99}"`);
        gates.maxP99Ms = v;
      }
      if (values['min-requests'] !== undefined) gates.minRequests = wholeNumber('--min-requests', values['min-requests'], 0, undefined, 'a whole number');
      if (values['max-wait'] !== undefined) gates.maxWait = duration('--max-wait', values['max-wait'], '60s');
      const exitCode = await runRollout(client, {
        service: positionals.SVC,
        pool: positionals.POOL,
        steps,
        stepDuration,
        gates,
        json: values.json === true,
        dryRun: values['dry-run'] === true,
        force: values.force === true,
      });
      return { exitCode };
    },
  }),
  ...ROLLOUT_COMMANDS,
];

/** Polls the draining backend until it is gone, showing the in-flight count falling on a terminal. */
async function waitRemoved(client: AdminClient, path: string, servicePath: string, first: BackendView, json: boolean, label: string): Promise<number> {
  const tty = process.stderr.isTTY === true && !json;
  const deadline = Date.parse(first.drain?.deadline ?? '') || Date.now() + 30_000;
  let last = first;
  const started = Date.now();
  for (;;) {
    if (tty) {
      const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      process.stderr.write(`\r\x1b[Kdraining ${label}: ${last.inFlight} in flight, ${left}s to deadline`);
    }
    try {
      last = (await client.call<BackendAnswer>('GET', path)).body.backend;
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
