import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Turnout } from '../app.js';
import { describeStore, isLoopbackHost, loadConfigFile, redactedState } from '../config/index.js';
import type { Config } from '../config/index.js';
import { ConfigError, StateFileError, StoreUnavailableError } from '../errors.js';
import { runtimeFilePath } from '../process/index.js';
import { FileStore } from '../store/index.js';
import { createLogger } from '../telemetry/index.js';

export interface ServeOptions {
  readonly configFile: string;
  readonly resetState: boolean;
  /** `--workers`: overrides the config's `workers` (0: the data plane in this process). */
  readonly workers?: number | 'auto';
}

/** Runs the proxy until SIGTERM/SIGINT. Returns the exit code (2: bad config, 1: could not start). */
export async function serve(opts: ServeOptions): Promise<number> {
  let config: Config;
  try {
    config = loadConfigFile(opts.configFile);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`turnout: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  // The admin tokens, read here once: the configured ones that are set, plus TURNOUT_ADMIN_TOKEN.
  const tokens = config.admin.tokens.filter((t) => t.token !== '');
  const envToken = process.env.TURNOUT_ADMIN_TOKEN;
  if (envToken !== undefined && envToken !== '' && !tokens.some((t) => t.token === envToken)) {
    tokens.push({ name: 'env', token: envToken, scope: 'write' });
  }
  if (tokens.length === 0 && !isLoopbackHost(config.admin.host)) {
    process.stderr.write(
      `turnout: invalid config ${opts.configFile}:\n  - admin.host: "${config.admin.host}" is not a loopback address and no admin token is set (admin.token, admin.tokens or TURNOUT_ADMIN_TOKEN)\n`,
    );
    return 2;
  }
  let generatedToken: string | undefined;
  if (tokens.length === 0) {
    // Loopback and no token: still never an open API. Generate one and say it once.
    generatedToken = randomBytes(18).toString('base64url');
    tokens.push({ name: 'generated', token: generatedToken, scope: 'write' });
  }
  const fileConfig = config;
  config = { ...config, admin: { ...config.admin, tokens } };

  const logger = createLogger(config.log.level);
  let turnout: Turnout;
  /** Set once the serve loop runs: ends it with an exit code. */
  let finish: (code: number) => void = () => undefined;
  try {
    if (opts.resetState && config.state.store === 'file') {
      // The corrupt-file message recommends --reset-state: keep the old file, never overwrite it.
      const aside = await new FileStore(config.state.path).setAsideIfCorrupt();
      if (aside !== undefined) logger.warn({ path: config.state.path, movedTo: aside }, 'reset-state: the unreadable state file was moved aside');
    }
    // Loaded only now: a bad config is refused without loading the data plane and admin API.
    const { startTurnout } = await import('../app.js');
    const { activatedListeners, isSuccessor, receiveListeners, reusePortAvailable, workerExecArgv } = await import('../process/index.js');
    const wanted = opts.workers ?? config.workers;
    const workers = wanted === 'auto' ? availableParallelism() : wanted;
    try {
      if (workers > 0) workerExecArgv(process.env);
    } catch (err) {
      process.stderr.write(`turnout: cannot start: ${(err as Error).message}\n`);
      return 2;
    }
    // Started by `turnout upgrade --supervisor`: the listening sockets come from the supervisor it
    // replaces; by systemd socket activation (LISTEN_FDS): from systemd.
    let listeners = isSuccessor() ? await receiveListeners() : undefined;
    if (listeners === undefined) {
      try {
        listeners = activatedListeners();
        if (listeners !== undefined && (workers === 0 || process.env.TURNOUT_ACCEPTOR === 'handoff' || !reusePortAvailable())) {
          throw new Error('socket activation (LISTEN_FDS) needs workers >= 1 on their own listeners (Node >= 22.12, not TURNOUT_ACCEPTOR=handoff)');
        }
      } catch (err) {
        process.stderr.write(`turnout: cannot start: ${(err as Error).message}\n`);
        return 2;
      }
      if (listeners !== undefined) logger.info({ admin: listeners.admin !== undefined }, 'socket activation: listening on the sockets systemd passed');
    }
    // workers: 0 runs the data plane in this process (no supervisor).
    turnout = await startTurnout(config, {
      logger,
      resetState: opts.resetState,
      configFile: opts.configFile,
      fileConfig,
      ...(workers > 0 ? { workers } : {}),
      ...(listeners !== undefined ? { listeners } : {}),
      // A supervisor upgrade's new supervisor keeps the admin token this run generated.
      ...(generatedToken !== undefined ? { successorEnv: { TURNOUT_ADMIN_TOKEN: generatedToken } } : {}),
      onReplaced: () => {
        logger.info('a new supervisor took over and the workers drained: exiting');
        logger.flush();
        finish(0);
      },
    });
    if (listeners !== undefined) (await import('../process/index.js')).tellPredecessorReady(turnout.workers?.workersInfo().map((w) => w.pid) ?? []);
  } catch (err) {
    if (err instanceof StateFileError) {
      process.stderr.write(`turnout: ${err.message}\n`);
      return 1;
    }
    if (err instanceof StoreUnavailableError) {
      // Nothing to serve yet: a supervisor restarts the process until the store is reachable.
      // The store named without its password: a URL's is redacted, the others never shown.
      process.stderr.write(`turnout: cannot start: ${err.message} (state.store ${describeStore(config.state)})\n`);
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES') {
      process.stderr.write(`turnout: cannot listen: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
  logger.info(
    // The state section as it may be shown: passwords hidden, a URL's password as ***.
    { proxy: turnout.proxyUrl, admin: turnout.adminUrl, revision: turnout.runtime.revision, store: turnout.store.kind, state: redactedState(config.state), workers: turnout.workers?.workersInfo().map((w) => w.pid) },
    'turnout ready',
  );
  // A secret never reaches a log: the generated token goes to a file only its user can read.
  const tokenFile = generatedToken !== undefined ? writeTokenFile(opts.configFile, generatedToken) : undefined;
  if (tokenFile !== undefined) {
    logger.warn({ tokenFile }, 'no admin token configured: generated one for this run, in tokenFile (set TURNOUT_ADMIN_TOKEN to choose it)');
  }

  return new Promise<number>((resolve) => {
    finish = resolve;
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      const timeoutMs = turnout.config.shutdownTimeoutMs;
      logger.info({ signal, inFlight: turnout.inFlight, timeoutMs }, 'shutting down: draining in-flight requests');
      void turnout.stop(timeoutMs).then((cut) => {
        if (cut.cutRequests > 0 || cut.closedUpgrades > 0) logger.warn(cut, 'shutdown deadline: cut what was still open');
        logger.info(cut, 'stopped');
        logger.flush();
        resolve(0);
      });
    };
    // SIGHUP: read the config file again; a refused reload is logged and the old config keeps serving.
    process.on('SIGHUP', () => {
      if (stopping) return;
      turnout.reload().then(
        (a) => logger.info({ signal: 'SIGHUP', revision: a.revision, changes: a.changes.length }, 'SIGHUP: config reloaded'),
        (err: unknown) => logger.error({ signal: 'SIGHUP', err: (err as Error).message, details: (err as { details?: unknown }).details }, 'SIGHUP: reload refused; the config served is unchanged'),
      );
    });
    // SIGUSR2: new workers from the code on disk; the old ones drain.
    process.on('SIGUSR2', () => {
      if (stopping) return;
      turnout.upgrade({ wait: false }).then(
        (a) => logger.info({ signal: 'SIGUSR2', ...a }, 'SIGUSR2: workers upgraded'),
        (err: unknown) => logger.error({ signal: 'SIGUSR2', err: (err as Error).message }, 'SIGUSR2: upgrade refused; the workers serving are unchanged'),
      );
    });
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/**
 * The generated admin token, beside the runtime file (`turnout-<id>.token`, mode 0600): its path.
 * It stays after exit (a supervisor upgrade passes the token on, and the next start replaces it).
 */
function writeTokenFile(configFile: string, token: string): string {
  const file = runtimeFilePath(configFile).replace(/\.json$/, '.token');
  rmSync(file, { force: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}
