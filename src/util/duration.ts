const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Pattern accepted for durations in config, API bodies and CLI flags: "500ms", "2s", "1.5m", "1h". */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$';
const DURATION_RE = new RegExp(DURATION_PATTERN);

/** Parses "500ms" / "2s" / "1m" / "1h" into milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2] as string;
  const value = Number.parseFloat(text.trim().slice(0, -unit.length));
  const ms = Math.round(value * (UNITS[unit] ?? 1));
  return Number.isFinite(ms) ? ms : undefined;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
