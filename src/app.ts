import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildAdminApp } from './admin/index.js';
import { RolloutController } from './rollout/index.js';
import type { Config } from './config/index.js';
import { ProxyServer } from './proxy/index.js';
import { Reloader } from './reload.js';
import type { ReloadAnswer } from './reload.js';
import { ControlPlane, Runtime } from './runtime/index.js';
import { createStore } from './store/index.js';
import type { StateStore } from './store/index.js';
import { Telemetry } from './telemetry/index.js';

export interface Turnout {
  readonly config: Config;
  readonly proxy: ProxyServer;
  readonly admin: FastifyInstance;
  readonly runtime: Runtime;
  readonly control: ControlPlane;
  readonly store: StateStore;
  readonly telemetry: Telemetry;
  readonly rollouts: RolloutController;
  /** Changes when a reload moves the listener. */
  readonly proxyUrl: string;
  readonly adminUrl: string;
  /** Reads the config file again and applies it (SIGHUP, `POST /v1/config/reload`). */
  reload(opts?: { readonly dryRun: boolean }): Promise<ReloadAnswer>;
  /** Graceful stop: readiness off, drain in-flight up to `timeoutMs`, close everything. */
  stop(timeoutMs?: number): Promise<{ cutRequests: number; closedUpgrades: number }>;
}

export interface StartOptions {
  readonly resetState?: boolean;
  readonly logger: Logger;
  readonly store?: StateStore;
  /** The file the config came from, read again by a reload (none: a reload is refused). */
  readonly configFile?: string;
  /** The config as the file gave it, before `serve` added tokens from the environment (default: `config`). */
  readonly fileConfig?: Config;
}

/**
 * Starts one turnout process's parts: store, runtime, control plane, proxy listener and admin
 * listener. Used by `turnout serve` and by integration tests (ports 0 allowed).
 */
export async function startTurnout(config: Config, opts: StartOptions): Promise<Turnout> {
  const logger = opts.logger;
  const store = opts.store ?? createStore(config.state, logger);
  const telemetry = new Telemetry();
  const runtime = new Runtime({ config, logger: logger.child({ component: 'runtime' }), telemetry });
  const control = new ControlPlane(store, runtime, config, logger.child({ component: 'control' }));
  const rollouts = new RolloutController({ control, telemetry, store, logger: logger.child({ component: 'rollout' }) });
  store.fleet.report({ inFlight: () => runtime.drainingInFlight(), pools: () => telemetry.allPoolCounts(Date.now()) });
  try {
    await control.init(opts.resetState ?? false);
    await runtime.warmUp();
  } catch (err) {
    await runtime.close();
    await store.close().catch(() => undefined);
    throw err;
  }

  let ready = false;
  const proxy = new ProxyServer({
    listen: config.listen,
    tables: runtime,
    observer: runtime.observer,
    logger: logger.child({ component: 'access' }),
    accessLog: config.log.access,
    accessSample: config.log.accessSample,
  });
  runtime.on('table', () => proxy.tableChanged());
  let admin: FastifyInstance | undefined;
  try {
    let served = config;
    let reloader: Reloader | undefined;
    const reload = (o: { readonly dryRun: boolean } = { dryRun: false }): Promise<ReloadAnswer> => {
      if (reloader === undefined) throw new Error('turnout is not started yet');
      return reloader.reload(o.dryRun);
    };
    admin = await buildAdminApp({ config, runtime, control, store, telemetry, rollouts, logger, isReady: () => ready, reload });
    await admin.listen({ host: config.admin.host, port: config.admin.port });
    const addr = await proxy.listen();
    ready = true;
    rollouts.start();
    const a = admin.server.address();
    const adminUrl = typeof a === 'object' && a !== null ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : String(a);
    const urlOf = (a: { host: string; port: number }): string => {
      const host = a.host.includes(':') ? `[${a.host}]` : a.host;
      return `${config.listen.tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${a.port}`;
    };
    let proxyUrl = urlOf(addr);
    reloader = new Reloader({
      file: opts.configFile,
      fileConfig: opts.fileConfig ?? config,
      served: config,
      control,
      proxy,
      logger: logger.child({ component: 'reload' }),
      onApplied: (next, moved) => {
        served = next;
        if (moved !== undefined) proxyUrl = urlOf(moved);
      },
    });
    const adminInstance = admin;
    let stopping: Promise<{ cutRequests: number; closedUpgrades: number }> | undefined;
    return {
      get config() {
        return served;
      },
      proxy,
      admin: adminInstance,
      runtime,
      control,
      store,
      telemetry,
      rollouts,
      get proxyUrl() {
        return proxyUrl;
      },
      adminUrl,
      reload,
      stop(timeoutMs = served.shutdownTimeoutMs) {
        stopping ??= (async () => {
          ready = false;
          rollouts.stop();
          const cut = await proxy.shutdown(timeoutMs);
          await adminInstance.close().catch(() => undefined);
          await runtime.close();
          await store.close().catch(() => undefined);
          return cut;
        })();
        return stopping;
      },
    };
  } catch (err) {
    await admin?.close().catch(() => undefined);
    await proxy.close().catch(() => undefined);
    await runtime.close();
    await store.close().catch(() => undefined);
    throw err;
  }
}
