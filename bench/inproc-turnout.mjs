// turnout with the data plane in this one process (no supervisor, no workers), as tests and
// embedders start it: dist/app.js startTurnout without `workers`. A reference for the worker
// benches (bench/workers.mjs): what the supervisor + worker split costs against no split at all.
// Not a way to run turnout: no reload on SIGHUP, no upgrade; SIGTERM/SIGINT stop it gracefully.
//
//   node bench/inproc-turnout.mjs --config FILE        (after npm run build; TURNOUT_ADMIN_TOKEN set)
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);

const { values } = parseArgs({ options: { config: { type: 'string' } } });
if (values.config === undefined) {
  process.stderr.write('inproc-turnout: --config FILE is required\n');
  process.exit(2);
}
const { loadConfigFile } = await dist('config/index.js');
const { createLogger } = await dist('telemetry/index.js');
const { startTurnout } = await dist('app.js');

const fileConfig = loadConfigFile(values.config);
// As `turnout serve` does: TURNOUT_ADMIN_TOKEN joins the configured tokens.
const tokens = fileConfig.admin.tokens.filter((t) => t.token !== '');
const envToken = process.env.TURNOUT_ADMIN_TOKEN;
if (envToken) tokens.push({ name: 'env', token: envToken, scope: 'write' });
const config = { ...fileConfig, admin: { ...fileConfig.admin, tokens } };
const logger = createLogger(config.log.level);
const turnout = await startTurnout(config, { logger, configFile: values.config, fileConfig });
logger.info({ proxy: turnout.proxyUrl, admin: turnout.adminUrl, inProcess: true }, 'turnout ready (data plane in this process)');

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => {
    if (stopping) return;
    stopping = true;
    void turnout.stop().then(() => {
      logger.flush();
      process.exit(0);
    });
  });
}
