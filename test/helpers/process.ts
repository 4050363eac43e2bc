import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { BIN } from './cli.js';
import { TOKEN } from './api.js';

export interface TurnoutProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  /**
   * Resident set size now, in bytes, of the process and its descendants (`turnout serve` is a
   * supervisor and its worker processes): Linux VmRSS from /proc/<pid>/status.
   */
  rss(): number;
  /** Everything the process wrote to stdout and stderr so far (for failure messages). */
  output(): string;
}

const DIST_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** VmRSS or VmHWM of a process in bytes, from /proc (Linux only). */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** The process and every descendant (Linux: /proc/<pid>/task/<tid>/children). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    try {
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        if (kids !== '') out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** SIGKILL to a pid that may have exited already. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** VmRSS of the process and its descendants, summed. */
export function treeRss(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      sum += procStatusBytes(p, 'VmRSS');
    } catch {
      // exited meanwhile
    }
  }
  return sum;
}

/**
 * Runs the built `turnout serve` as a child process on ephemeral ports (memory store, tokens as in
 * startTestTurnout) and resolves once it logs "turnout ready". Needs `npm run build` (npm test does
 * it). Stopped with SIGTERM after the test, SIGKILL if it does not exit within 5 s. `args` go
 * after `serve --config FILE` (e.g. `--workers 2`).
 */
export async function startTurnoutProcess(
  doc: Record<string, unknown>,
  opts: { readyTimeoutMs?: number; env?: Record<string, string>; args?: readonly string[] } = {},
): Promise<TurnoutProcess> {
  if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: run \`npm run build\` first (npm test does)`);
  const dir = mkdtempSync(join(tmpdir(), 'turnout-proc-'));
  const file = join(dir, 'turnout.yaml');
  writeFileSync(
    file,
    stringify({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0, tokens: [{ name: 'ci', token: TOKEN, scope: 'write' }] },
      state: { store: 'memory' },
      log: { level: 'info' },
      ...doc,
    }),
  );
  const child = spawn(process.execPath, [BIN, 'serve', '--config', file, ...(opts.args ?? [])], {
    env: { ...process.env, TURNOUT_ADMIN_TOKEN: '', TURNOUT_LOG_FORMAT: 'json', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const tree = processTree(child.pid as number);
      child.kill('SIGTERM');
      // Its workers too, if it has to be killed: alone, they would serve on as orphans.
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        for (const p of tree.slice(1)) killQuietly(p);
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const ready = await new Promise<{ proxy: string; admin: string }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`turnout did not log "turnout ready" within ${opts.readyTimeoutMs ?? 15_000}ms:\n${out}`)), opts.readyTimeoutMs ?? 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`turnout exited with ${code} before it was ready:\n${out}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      const text = d.toString();
      out += text;
      buf += text;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.includes('"turnout ready"')) continue;
        const rec = JSON.parse(line) as { proxy: string; admin: string };
        clearTimeout(timer);
        resolve(rec);
      }
    });
  });
  const pid = child.pid as number;
  return {
    child,
    pid,
    proxyUrl: ready.proxy,
    adminUrl: ready.admin,
    rss: () => treeRss(pid),
    output: () => out,
  };
}
