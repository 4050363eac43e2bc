import { UsageError, WRITE_OPTIONS, defineCommand, wholeNumber, writeQuery } from './command.js';
import type { ServiceAnswer } from './views.js';

const enc = encodeURIComponent;

/** `turnout mirror SVC POOL PERCENT` / `turnout mirror SVC --off` (SPEC "Mirroring"). */
export const MIRROR_COMMAND = defineCommand({
  name: 'mirror',
  usage:
    'turnout mirror SVC POOL PERCENT [--methods GET,HEAD] [--max-body-bytes N] [--max-in-flight N]\n' +
    '                                                    copy PERCENT of the requests to POOL, answers discarded\n' +
    'turnout mirror SVC --off                            stop mirroring',
  positionals: ['SVC', 'POOL?', 'PERCENT?'],
  options: {
    'dry-run': WRITE_OPTIONS['dry-run'],
    off: { type: 'boolean' },
    methods: { type: 'string' },
    'max-body-bytes': { type: 'string' },
    'max-in-flight': { type: 'string' },
  },
  async run({ positionals: p, values, client }) {
    const path = `/v1/services/${enc(p.SVC)}/mirror${writeQuery(values)}`;
    if (values.off) {
      if (p.POOL !== undefined) throw new UsageError('mirror SVC --off takes no POOL or PERCENT');
      return { answer: (await client.call<ServiceAnswer>('DELETE', path)).body };
    }
    if (p.POOL === undefined || p.PERCENT === undefined) throw new UsageError('mirror takes SVC POOL PERCENT, or SVC --off');
    const percent = Number(p.PERCENT.replace(/%$/, ''));
    // The range is the server's to judge: its answer names the key (body/percent).
    if (p.PERCENT.trim() === '' || !Number.isFinite(percent)) throw new UsageError(`PERCENT must be a number, got "${p.PERCENT}"`);
    const body = {
      pool: p.POOL,
      percent,
      ...(values.methods !== undefined ? { methods: values.methods.split(',').map((m) => m.trim().toUpperCase()) } : {}),
      ...(values['max-body-bytes'] !== undefined ? { maxBodyBytes: wholeNumber('--max-body-bytes', values['max-body-bytes'], 0) } : {}),
      ...(values['max-in-flight'] !== undefined ? { maxInFlight: wholeNumber('--max-in-flight', values['max-in-flight'], 1) } : {}),
    };
    return { answer: (await client.call<ServiceAnswer>('PUT', path, body)).body };
  },
  format(a, { positionals: p, values }) {
    const m = a.service.mirror;
    const dry = values['dry-run'] ? '(dry run) ' : '';
    if (m === undefined) return `${dry}${p.SVC}: mirroring off (revision ${a.revision})`;
    return `${dry}${p.SVC}: ${m.percent}% of ${m.methods.join(', ')} requests copied to ${m.pool} (at most ${m.maxInFlight} in flight, bodies up to ${m.maxBodyBytes} bytes) (revision ${a.revision})`;
  },
});
