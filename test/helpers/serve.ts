import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { BIN } from './cli.js';
import { apiAs } from './api.js';
import { killQuietly, processTree } from './process.js';

/** A fresh directory under os.tmpdir(), removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'turnout-test-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A port that was free a moment ago: listened on 127.0.0.1:0, then released. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Writes `doc` as YAML to `dir/name` and returns the path. */
export async function writeYaml(dir: string, name: string, doc: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, stringify(doc));
  return file;
}

/** Resolves true when something accepts a TCP connection on 127.0.0.1:port, false when refused. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve(false) : reject(err)));
  });
}

export interface ServeProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote so far. */
  readonly output: { stdout: string; stderr: string };
  /** Settles when the process has exited, with its code (null when killed by a signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/**
 * Starts `node bin/turnout.js <args>` (the built dist/) with TURNOUT_ADMIN_TOKEN and
 * TURNOUT_ADMIN_URL cleared unless `env` sets them. SIGKILLed after the test if still running.
 */
export function spawnTurnout(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): ServeProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, TURNOUT_ADMIN_TOKEN: '', TURNOUT_ADMIN_URL: '', ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (output.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output.stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // Its workers too: killed alone, they would serve on as orphans until orphanTimeout.
      const tree = processTree(child.pid as number);
      child.kill('SIGKILL');
      for (const pid of tree.slice(1)) killQuietly(pid);
      await exited.catch(() => undefined);
    }
  });
  return { child, output, exited };
}

/**
 * Polls GET /readyz until it answers 200 (bounded by `timeoutMs`). Fails early, with the
 * process's stderr, if it exits first.
 */
export async function waitReady(proc: ServeProcess, adminPort: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true), () => (exited = true));
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (exited) throw new Error(`turnout exited before it was ready (code ${proc.child.exitCode}): ${proc.output.stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`turnout was not ready within ${timeoutMs}ms (last: ${last}); stderr: ${proc.output.stderr}`);
}

/** Waits for the process to exit, failing after `timeoutMs`. */
export async function waitExit(proc: ServeProcess, timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`turnout did not exit within ${timeoutMs}ms; stderr: ${proc.output.stderr}`)), timeoutMs);
  });
  try {
    return await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One admin API call with a bearer token to a turnout listening on 127.0.0.1:adminPort. */
export function adminCall(adminPort: number, token: string, method: string, path: string, body?: unknown): ReturnType<typeof apiAs> {
  return apiAs({ adminUrl: `http://127.0.0.1:${adminPort}` }, token, method, path, body);
}
