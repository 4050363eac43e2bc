import { mkdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { createAppServer } from './app-server.js';

/**
 * `npm run demo`: two app servers ("blue" v1 on 3001, "green" v2 on 3002) and turnout in front of
 * them on the embedded file store, with the next commands to try.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const token = process.env.TURNOUT_ADMIN_TOKEN || 'demo-token';
const proxyPort = Number(process.env.DEMO_PROXY_PORT ?? 8080);
const adminPort = Number(process.env.DEMO_ADMIN_PORT ?? 9901);
const bluePort = Number(process.env.DEMO_BLUE_PORT ?? 3001);
const greenPort = Number(process.env.DEMO_GREEN_PORT ?? 3002);

const dataDir = join(root, 'data', 'demo');
mkdirSync(dataDir, { recursive: true });
const configFile = join(dataDir, 'turnout.yaml');
writeFileSync(
  configFile,
  `# written by npm run demo
listen: { host: 127.0.0.1, port: ${proxyPort} }
admin: { host: 127.0.0.1, port: ${adminPort} }
state: { store: file, path: ${JSON.stringify(join(dataDir, 'state.json'))} }
log: { level: info }
services:
  web:
    routes: [{ host: "*", pathPrefix: "/" }]
    pools:
      blue:  [{ id: blue-1, url: "http://127.0.0.1:${bluePort}" }]
      green: [{ id: green-1, url: "http://127.0.0.1:${greenPort}" }]
    split: { blue: 100, green: 0 }
    healthCheck: { path: /health/ready, interval: 2s }
    drain: { timeout: 10s }
    headerOverride: true
`,
);

const blue = createAppServer('blue', 'v1');
const green = createAppServer('green', 'v2');
await new Promise<void>((r) => blue.listen(bluePort, '127.0.0.1', r));
await new Promise<void>((r) => green.listen(greenPort, '127.0.0.1', r));

const child = spawn(process.execPath, [join(root, 'bin', 'turnout.js'), 'serve', '--config', configFile], {
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
