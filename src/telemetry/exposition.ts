/**
 * Prometheus text format for a histogram whose counts are plain arrays the hot path increments.
 * prom-client has no public way to hand it bucket counts, and its own histogram hashes the label
 * values on every observation (about 40 times the cost of an array increment); so this one
 * metric is written here and appended to the registry's output.
 */

export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations at or below each bound (not cumulative; the last bound's overflow is in `count` only). */
  readonly buckets: ArrayLike<number>;
  readonly count: number;
  readonly sum: number;
}

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string): string => escapeHelp(s).replace(/"/g, '\\"');

function labelText(labels: Readonly<Record<string, string>>, le?: string): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (le !== undefined) pairs.push(`le="${le}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

export function histogramText(name: string, help: string, bounds: readonly number[], series: Iterable<HistogramSeries>): string {
  const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} histogram`];
  for (const s of series) {
    let acc = 0;
    bounds.forEach((le, i) => {
      acc += s.buckets[i] ?? 0;
      lines.push(`${name}_bucket${labelText(s.labels, String(le))} ${acc}`);
    });
    lines.push(`${name}_bucket${labelText(s.labels, '+Inf')} ${s.count}`);
    lines.push(`${name}_sum${labelText(s.labels)} ${s.sum}`);
    lines.push(`${name}_count${labelText(s.labels)} ${s.count}`);
  }
  return `${lines.join('\n')}\n`;
}
