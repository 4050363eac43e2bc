import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

const APP = fileURLToPath(new URL('../../dist/demo/app-server.js', import.meta.url));

export interface AppProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Sends a signal and waits for the exit (SIGTERM: the app closes its server gracefully). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A demo app server (src/demo/app-server.ts) in its own process on 127.0.0.1:0: answers JSON with
 * its name and version, `/health/ready`, `/slow?ms=N`; on SIGTERM it stops accepting, closes idle
 * connections, lets in-flight requests finish (answered with `Connection: close`) and exits, as a
 * well-behaved app does. `port` (default 0: any) lets a new app take the place of one that stopped.
 */
export async function startAppProcess(name: string, version: string, opts: { port?: number } = {}): Promise<AppProcess> {
  if (!existsSync(APP)) throw new Error(`${APP} is missing: run \`npm run build\` first (npm test does)`);
  const code = `
    const { createAppServer } = await import(${JSON.stringify(APP)});
    const s = createAppServer(${JSON.stringify(name)}, ${JSON.stringify(version)});
    s.listen(${opts.port ?? 0}, '127.0.0.1', () => process.stdout.write('port ' + s.address().port + '\\n'));
    // node's server.close() keeps serving keep-alive connections that were busy, answering
    // "keep-alive": under steady load they would never end. A stopping app says Connection: close.
    let stopping = false;
    const open = new Set();
    s.prependListener('request', (req, res) => {
      if (stopping) return res.setHeader('connection', 'close');
      open.add(res);
      res.on('close', () => open.delete(res));
    });
    process.on('SIGTERM', () => {
      stopping = true;
      for (const res of open) if (!res.headersSent) res.setHeader('connection', 'close');
      s.close(() => process.exit(0));
      s.closeIdleConnections();
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (c) => reject(new Error(`app ${name} exited with ${c}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
