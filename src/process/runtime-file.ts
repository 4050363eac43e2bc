import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A process as the runtime file names it: its pid and its start time (clock ticks after boot,
 * /proc/PID/stat field 22), so a pid the kernel gave to another process since is never taken
 * for it (nor signalled).
 */
export interface ProcessMark {
  readonly pid: number;
  readonly start: number;
}

/** What a supervisor writes while it runs: itself and its workers. */
export interface RuntimeRecord {
  readonly supervisor: ProcessMark;
  readonly workers: readonly (ProcessMark & { readonly generation: number; readonly startedAt: string })[];
}

/**
 * Where the supervisor serving `configFile` keeps its runtime file: in TURNOUT_RUNTIME_DIR, else
 * systemd's RUNTIME_DIRECTORY, else the temporary directory; named by a hash of the config file's
 * absolute path, so a `turnout serve` on the same config finds it and one on another does not.
 */
export function runtimeFilePath(configFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TURNOUT_RUNTIME_DIR || env.RUNTIME_DIRECTORY?.split(':')[0] || tmpdir();
  const id = createHash('sha256').update(resolve(configFile)).digest('hex').slice(0, 16);
  return join(dir, `turnout-${id}.json`);
}

/** The start time in /proc/PID/stat's text (field 22; the name in field 2 may hold spaces and parentheses). */
export function parseStartTime(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After the name: field 3 (state) is the first; the start time is field 22.
  const fields = stat.slice(close + 1).trim().split(/\s+/);
  const start = Number(fields[22 - 3]);
  return Number.isInteger(start) && start >= 0 ? start : undefined;
}

/** A running process's start time (undefined: no such process, or not Linux). */
export function startTimeOf(pid: number): number | undefined {
  try {
    return parseStartTime(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Whether the process named is still the one running under its pid. */
export const isRunning = (p: ProcessMark): boolean => p.pid > 0 && startTimeOf(p.pid) === p.start;

/**
 * The workers of the record that are orphans: their supervisor no longer runs, they still do,
 * and they are not `self` (this supervisor).
 */
export function orphansIn(record: RuntimeRecord | undefined, running: (p: ProcessMark) => boolean, self: number): RuntimeRecord['workers'] {
  if (record === undefined || record.supervisor.pid === self || running(record.supervisor)) return [];
  return record.workers.filter((w) => w.pid !== self && running(w));
}

/** Signals the process only while it is still the one named (a pid reused since is left alone). */
export function signalIfRunning(p: ProcessMark, signal: NodeJS.Signals): boolean {
  if (!isRunning(p)) return false;
  try {
    process.kill(p.pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function readRuntimeFile(path: string): RuntimeRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as RuntimeRecord;
    return typeof r.supervisor?.pid === 'number' && Array.isArray(r.workers) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole (a temporary file renamed over it): a reader never sees half of it. */
export function writeRuntimeFile(path: string, record: RuntimeRecord): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
  }
}

export function removeRuntimeFile(path: string): void {
  rmSync(path, { force: true });
}
