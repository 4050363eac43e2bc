import type { AdminClient } from './client.js';
import { ApiError } from './client.js';

export interface RolloutArgs {
  readonly service: string;
  readonly pool: string;
  readonly steps: readonly number[];
  readonly stepDuration: string;
  readonly gates: Record<string, number | string>;
  readonly json: boolean;
  readonly dryRun: boolean;
  readonly force: boolean;
  /** The whole start body (--file); the flags above are then unused. */
  readonly body?: Record<string, unknown>;
  /** Poll interval while watching (default 500 ms). */
  readonly pollMs?: number;
}

interface RolloutView {
  id: string;
  pool: string;
  state: 'running' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';
  step: number;
  percent: number;
  steps: number[];
  stepStartedAt: string;
  reason?: string;
  progress?: { requests: number; errorRate: number; p99Ms: number; stepEndsAt: string };
  results?: CheckLine[];
  pause?: { before: number; until?: string; continueWith: string };
  awaitingConfirmation?: boolean;
  gates?: { maxErrorRate?: number; maxP99Ms?: number; baseline?: { maxErrorRateIncrease?: number; maxP99Ratio?: number } };
}

interface Counts {
  requests: number;
  errors: number;
  p99Ms: number;
}

interface CheckLine {
  step: number;
  percent: number;
  passed: boolean;
  reason?: string;
  readings?: {
    canary: Counts;
    stable?: Counts;
    metrics?: { name: string; value?: number; error?: string; min?: number; max?: number }[];
    webhooks?: { name: string; type: string; status?: number; error?: string }[];
  };
}

const rate = (c: Counts): string => `${c.requests === 0 ? 0 : Math.round((c.errors / c.requests) * 10_000) / 100}%`;

/** One check in words: readings against their bounds, the baseline side by side, metric values, webhook answers. */
export function formatCheck(c: CheckLine, g: RolloutView['gates']): string {
  const parts = [`check step ${c.step} (${c.percent}%): ${c.passed ? 'passed' : 'FAILED'}`];
  const k = c.readings?.canary;
  if (k !== undefined) {
    const bounds = [g?.maxErrorRate !== undefined ? `max ${Math.round(g.maxErrorRate * 10_000) / 100}%` : '', g?.maxP99Ms !== undefined ? `p99 max ${g.maxP99Ms}ms` : '']
      .filter((x) => x !== '')
      .join(', ');
    parts.push(`canary ${k.requests} req, err ${rate(k)}, p99 ${k.p99Ms}ms${bounds !== '' ? ` (${bounds})` : ''}`);
    const s = c.readings?.stable;
    if (s !== undefined) {
      const b = g?.baseline;
      const bb = [b?.maxErrorRateIncrease !== undefined ? `increase max ${Math.round(b.maxErrorRateIncrease * 10_000) / 100}%` : '', b?.maxP99Ratio !== undefined ? `p99 ratio max ${b.maxP99Ratio}` : '']
        .filter((x) => x !== '')
        .join(', ');
      parts.push(`stable ${s.requests} req, err ${rate(s)}, p99 ${s.p99Ms}ms${bb !== '' ? ` (${bb})` : ''}`);
    }
  }
  for (const m of c.readings?.metrics ?? []) {
    const bounds = [m.min !== undefined ? `min ${m.min}` : '', m.max !== undefined ? `max ${m.max}` : ''].filter((x) => x !== '').join(', ');
    parts.push(`${m.name} = ${m.value ?? m.error ?? '?'} (${bounds})`);
  }
  for (const w of c.readings?.webhooks ?? []) parts.push(`${w.type} "${w.name}" ${w.status ?? w.error ?? '?'}`);
  if (c.reason !== undefined) parts.push(c.reason);
  return parts.join(' · ');
}

const ENDED = new Set(['promoted', 'rolled_back', 'aborted']);

/**
 * `turnout rollout SVC POOL --steps 1,5,25,100 --step-duration 60s`: starts the automated canary and
 * follows it to its end with a progress bar (on a terminal) or one line per step (otherwise).
 * Exit 0 when promoted, 1 when rolled back or aborted (the reason on stderr).
 */
export async function runRollout(client: AdminClient, a: RolloutArgs): Promise<number> {
  const q = new URLSearchParams();
  if (a.dryRun) q.set('dryRun', 'true');
  if (a.force) q.set('force', 'true');
  const qs = q.toString() === '' ? '' : `?${q.toString()}`;
  const body = a.body !== undefined ? { ...a.body, pool: a.pool } : { pool: a.pool, steps: a.steps, stepDuration: a.stepDuration, ...(Object.keys(a.gates).length > 0 ? { gates: a.gates } : {}) };
  const started = await client.call<{ revision: number; rollout: RolloutView }>('POST', `/v1/services/${encodeURIComponent(a.service)}/rollouts${qs}`, body);
  if (a.dryRun) {
    process.stdout.write(a.json ? `${JSON.stringify(started.body, null, 2)}\n` : `(dry run) rollout of ${a.service}/${a.pool} would start at ${started.body.rollout.percent}%\n`);
    return 0;
  }
  const tty = process.stderr.isTTY === true && !a.json;
  const total = started.body.rollout.steps.length;
  // Loaded only for a terminal: `turnout serve` imports the commands too and never draws a bar.
  const cliProgress = tty ? (await import('cli-progress')).default : undefined;
  const bar = cliProgress !== undefined
    ? new cliProgress.SingleBar(
        {
          format: ` ${a.service}/${a.pool} [{bar}] step {value}/{total} {percent_}% · {left} left · {requests} req · err {err} · p99 {p99}ms · {state}`,
          barsize: 24,
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let r = started.body.rollout;
  bar?.start(total, 0, fields(r));
  let lastLine = '';
  let lastGate = '';
  let shown = 0;
  const path = `/v1/services/${encodeURIComponent(a.service)}/rollouts/current`;
  for (;;) {
    const line = `step ${r.step}/${total} ${r.percent}% ${r.state}`;
    if (bar !== undefined) bar.update(ENDED.has(r.state) && r.state === 'promoted' ? total : r.step - 1, fields(r));
    else if (!a.json && line !== lastLine) process.stdout.write(`${a.service}/${a.pool}: ${line}\n`);
    lastLine = line;
    if (!a.json) {
      for (const c of (r.results ?? []).slice(shown)) process.stdout.write(`${a.service}/${a.pool}: ${formatCheck(c, r.gates)}\n`);
      shown = r.results?.length ?? shown;
      const gate = r.pause !== undefined ? `paused${r.pause.until !== undefined ? ` until ${r.pause.until}` : ' at a manual gate'}: continue with ${r.pause.continueWith}` : '';
      const waiting = r.awaitingConfirmation === true ? 'waiting for the confirm-promotion webhook (asked again at every check)' : gate;
      if (waiting !== '' && waiting !== lastGate) process.stdout.write(`${a.service}/${a.pool}: ${waiting}\n`);
      lastGate = waiting;
    }
    if (ENDED.has(r.state)) break;
    await new Promise((res) => setTimeout(res, a.pollMs ?? 500));
    try {
      r = (await client.call<{ revision: number; rollout: RolloutView }>('GET', path)).body.rollout;
    } catch (err) {
      if (err instanceof ApiError && err.status === 0) continue; // admin briefly unreachable: keep watching
      throw err;
    }
  }
  bar?.stop();
  if (a.json) process.stdout.write(`${JSON.stringify({ rollout: r }, null, 2)}\n`);
  if (r.state === 'promoted') {
    if (!a.json) process.stdout.write(`${a.service}/${a.pool}: promoted (${r.percent}%)\n`);
    return 0;
  }
  process.stderr.write(`turnout: rollout ${r.state.replace('_', ' ')}: ${r.reason ?? 'no reason given'}\n`);
  return 1;
}

function fields(r: RolloutView): Record<string, string | number> {
  const left = r.progress ? Math.max(0, Math.ceil((Date.parse(r.progress.stepEndsAt) - Date.now()) / 1000)) : 0;
  return {
    percent_: r.percent,
    left: `${left}s`,
    requests: r.progress?.requests ?? 0,
    err: `${Math.round((r.progress?.errorRate ?? 0) * 10_000) / 100}%`,
    p99: r.progress?.p99Ms ?? 0,
    state: r.state,
  };
}
