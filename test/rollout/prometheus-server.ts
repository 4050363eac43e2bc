import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { deadPort } from '../helpers/backends.js';
import { sleep } from '../helpers/time.js';

export function hasPrometheus(): boolean {
  try {
    execFileSync('prometheus', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Debian's real `prometheus` on a free loopback port with a generated config scraping `targets`
 * (host:port) every second, its data in a temporary directory; stopped and removed after the test.
 */
export async function startPrometheus(targets: readonly string[]): Promise<{ url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'turnout-prom-'));
  const port = await deadPort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: app',
    '    scrape_timeout: 900ms',
    '    static_configs:',
    `      - targets: [${targets.map((t) => `"${t}"`).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const child = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'],
    { stdio: 'ignore' },
  );
  onTestFinished(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return { url };
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error('prometheus did not become ready within 15 s');
}

/** Polls an instant query until it yields one number (the scrapes have data). */
export async function untilNumber(url: string, query: string, ms: number): Promise<number | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { data?: { result?: { value?: [number, string] }[] } };
    const v = body.data?.result?.[0]?.value?.[1];
    if (v !== undefined && Number.isFinite(Number(v))) return Number(v);
    await sleep(250);
  }
  return undefined;
}
