import type { HistoryAnswer, ReloadAnswer, ServiceView } from './views.js';

export function formatSplit(split: Readonly<Record<string, number>>): string {
  return Object.entries(split)
    .map(([p, v]) => `${p} ${v}%`)
    .join(', ');
}

export function formatService(s: ServiceView): string {
  const lines = [`${s.name}  split: ${formatSplit(s.split)}`];
  if (s.mirror !== undefined) lines.push(`  mirror: ${s.mirror.percent}% of ${s.mirror.methods.join(', ')} copied to ${s.mirror.pool}`);
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

export function formatHistory(history: HistoryAnswer['history']): string {
  if (history.length === 0) return 'no changes yet';
  return history.map((h) => `${String(h.revision).padStart(5)}  ${h.time}  ${h.action.padEnd(10)} ${h.actor.padEnd(16)} ${summarize(h.before)} → ${summarize(h.after)}`).join('\n');
}

/** A history entry's before or after: a backend, a split, or nothing. */
function summarize(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('id' in o) return `${String(o.pool ?? '')}/${String(o.id)} ${String(o.state ?? '')} w=${String(o.weight ?? '')}`;
    return formatSplit(o as Record<string, number>);
  }
  return String(v);
}

/** `config reloaded (revision 7): 2 changes` and one line per change; an unchanged file says so. */
export function formatReload(a: ReloadAnswer): string {
  const done = a.dryRun === true ? '(dry run) config checked, nothing applied' : 'config reloaded';
  if (a.changes.length === 0) return `${done} (revision ${a.revision}): nothing changed`;
  const lines = a.changes.map((c) => {
    const where = [c.service, c.path].filter((x) => x !== undefined).join(' ');
    const fromTo = c.path === undefined ? '' : `: ${JSON.stringify(c.from ?? null)} → ${JSON.stringify(c.to ?? null)}`;
    return `  ${c.kind.replace(/_/g, ' ')} ${where}${fromTo}`;
  });
  return `${done} (revision ${a.revision}): ${a.changes.length} change${a.changes.length === 1 ? '' : 's'}\n${lines.join('\n')}`;
}

export interface UpgradeAnswer {
  readonly generation: number;
  readonly started: readonly number[];
  readonly replaced: readonly number[];
  readonly drained?: boolean;
  readonly dryRun?: boolean;
  readonly supervisor?: { readonly pid: number; readonly replaced: number };
}

export function formatUpgrade(a: UpgradeAnswer): string {
  if (a.dryRun === true) return '(dry run) this turnout can upgrade its workers; nothing done';
  const pids = (l: readonly number[]): string => (l.length === 0 ? 'none' : l.join(', '));
  const old = a.drained === undefined ? `draining: ${pids(a.replaced)}` : a.drained ? `drained and exited: ${pids(a.replaced)}` : `exited at the shutdown deadline (something was cut): ${pids(a.replaced)}`;
  const sup = a.supervisor === undefined ? '' : `supervisor upgraded: ${a.supervisor.pid} (was ${a.supervisor.replaced}, which exits once its workers drained)\n`;
  return `${sup}workers upgraded (generation ${a.generation})\n  serving: ${pids(a.started)}\n  ${old}`;
}
