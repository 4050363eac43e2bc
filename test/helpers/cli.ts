import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/turnout.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `turnout` executable as a child process (npm test builds first). */
export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, TURNOUT_ADMIN_TOKEN: '', TURNOUT_ADMIN_URL: '', ...opts.env },
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Fails when a file of src/cli is newer than its build in dist/cli: the CLI tests run dist/, and a stale build would test old code. */
export function expectFreshCliBuild(): void {
  const at = (p: string): number => statSync(fileURLToPath(new URL(`../../${p}`, import.meta.url))).mtimeMs;
  for (const f of readdirSync(fileURLToPath(new URL('../../src/cli', import.meta.url)))) {
    const js = `dist/cli/${f.replace(/\.ts$/, '.js')}`;
    let built: number;
    try {
      built = at(js);
    } catch {
      throw new Error(`${js} is missing: run "npm run build" first`);
    }
    if (built < at(`src/cli/${f}`)) throw new Error(`${js} is older than src/cli/${f}: run "npm run build" first`);
  }
}
