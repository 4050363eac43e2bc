import type { HistoryAnswer, ServiceView } from './views.js';

export function formatSplit(split: Readonly<Record<string, number>>): string {
  return Object.entries(split)
    .map(([p, v]) => `${p} ${v}%`)
    .join(', ');
}

export function formatService(s: ServiceView): string {
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
