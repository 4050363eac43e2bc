import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { createAppServer } from './app-server.js';

/**
 * `npm run demo`: two app servers ("blue" v1 on 3001, "green" v2 on 3002) and turnout in front of
 * them on config/example.yaml (embedded file store in ./data), with the next commands to try.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const token = process.env.TURNOUT_ADMIN_TOKEN || 'demo-token';
const proxyPort = Number(process.env.DEMO_PROXY_PORT ?? 8080);
const adminPort = Number(process.env.DEMO_ADMIN_PORT ?? 9901);
const bluePort = Number(process.env.DEMO_BLUE_PORT ?? 3001);
const greenPort = Number(process.env.DEMO_GREEN_PORT ?? 3002);

// The example config as it is, unless ports were moved with DEMO_* variables (then a copy with them).
const custom = ['DEMO_PROXY_PORT', 'DEMO_ADMIN_PORT', 'DEMO_BLUE_PORT', 'DEMO_GREEN_PORT'].some((k) => process.env[k] !== undefined);
let configFile = join(root, 'config', 'example.yaml');
if (custom) {
  const dataDir = join(root, 'data', 'demo');
  mkdirSync(dataDir, { recursive: true });
  configFile = join(dataDir, 'turnout.yaml');
  writeFileSync(
    configFile,
    readFileSync(join(root, 'config', 'example.yaml'), 'utf8')
      .replace('port: 8080', `port: ${proxyPort}`)
      .replace('port: 9901', `port: ${adminPort}`)
      .replace('127.0.0.1:3001', `127.0.0.1:${bluePort}`)
      .replace('127.0.0.1:3002', `127.0.0.1:${greenPort}`)
      .replace('./data/state.json', JSON.stringify(join(dataDir, 'state.json'))),
  );
}

const blue = createAppServer('blue', 'v1');
const green = createAppServer('green', 'v2');
await new Promise<void>((r) => blue.listen(bluePort, '127.0.0.1', r));
await new Promise<void>((r) => green.listen(greenPort, '127.0.0.1', r));

const child = spawn(process.execPath, [join(root, 'bin', 'turnout.js'), 'serve', '--config', configFile], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, TURNOUT_ADMIN_TOKEN: token, TURNOUT_LOG_FORMAT: process.env.TURNOUT_LOG_FORMAT ?? '' },
});

setTimeout(() => {
  process.stdout.write(`
  turnout demo
  ────────────
  proxy      http://127.0.0.1:${proxyPort}/        (blue v1 on :${bluePort}, green v2 on :${greenPort})
  admin API  http://127.0.0.1:${adminPort}/docs    token: ${token}

  Try:
    curl -s http://127.0.0.1:${proxyPort}/
    curl -s -H 'X-Turnout-Pool: green' http://127.0.0.1:${proxyPort}/
    export TURNOUT_ADMIN_URL=http://127.0.0.1:${adminPort} TURNOUT_ADMIN_TOKEN=${token}
    npx turnout status
    npx turnout canary web green 10
    npx turnout flip web green --wait
    npx turnout rollback web
    npx turnout history web

  Ctrl-C stops everything.
`);
}, 1200).unref();

const stop = (): void => {
  child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', (code) => {
  blue.close();
  green.close();
  blue.closeAllConnections();
  green.closeAllConnections();
  process.exit(code ?? 0);
});
