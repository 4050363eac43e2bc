import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildAdminApp } from './admin/index.js';
import { RolloutController, localMirror, prometheusMetrics } from './rollout/index.js';
import type { Config } from './config/index.js';
import { ConflictError } from './errors.js';
import { WorkerPool, runtimeFilePath, upgradeSupervisor, workerScript } from './process/index.js';
import type { Listeners, UpgradeOutcome } from './process/index.js';
import { ProxyServer, collectStartupGarbage } from './proxy/index.js';
import { Reloader } from './reload.js';
import type { ReloadAnswer } from './reload.js';
import { ControlPlane, Runtime } from './runtime/index.js';
import { createStore } from './store/index.js';
import type { StateStore } from './store/index.js';
import { Telemetry } from './telemetry/index.js';

export interface Turnout {
  readonly config: Config;
  /** The data plane when it runs in this process (no `workers`). */
  readonly proxy: ProxyServer | undefined;
  /** The worker processes when this process is a supervisor (`workers`). */
  readonly workers: WorkerPool | undefined;
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
  /** Requests and upgrades in flight (in every worker). */
  readonly inFlight: number;
  /** New workers from the code on disk (`supervisor`: a new supervisor too); the old ones drain (SIGUSR2, `POST /v1/upgrade`). */
  upgrade(opts: { readonly wait: boolean; readonly supervisor?: boolean }): Promise<UpgradeOutcome>;
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
  /**
   * Run the data plane in this many worker processes, this process being their supervisor
   * (`turnout serve`). Undefined: the data plane runs in this process (tests, embedding).
   */
  readonly workers?: number;
  /** The worker entry (default: dist/process/worker-main.js). */
  readonly workerScript?: string;
  /** Listening sockets from the supervisor this one replaces (`turnout upgrade --supervisor`). */
  readonly listeners?: Listeners;
  /** Environment a new supervisor gets on top of this one's (a generated admin token). */
  readonly successorEnv?: Readonly<Record<string, string>>;
  /** A new supervisor took over and this one's workers drained: the process may exit. */
  readonly onReplaced?: () => void;
}

/**
 * Starts turnout's parts: store, runtime, control plane, admin listener, and the data plane:
 * in this process, or (`workers`) in worker processes this one supervises on its listener.
 * Used by `turnout serve` and by integration tests (ports 0 allowed).
 */
export async function startTurnout(config: Config, opts: StartOptions): Promise<Turnout> {
  const logger = opts.logger;
  const store = opts.store ?? createStore(config.state, logger);
  const telemetry = new Telemetry();
  const pool =
    opts.workers === undefined ? undefined : new WorkerPool({
          count: opts.workers,
          script: opts.workerScript ?? workerScript(),
          config,
          logger: logger.child({ component: 'supervisor' }),
          ...(opts.configFile !== undefined ? { runtimeFile: runtimeFilePath(opts.configFile) } : {}),
          ...(opts.listeners !== undefined ? { listeners: opts.listeners.data } : {}),
        });
  const runtime = new Runtime({ config, logger: logger.child({ component: 'runtime' }), telemetry, ...(pool !== undefined ? { remote: pool } : {}) });
  const control = new ControlPlane(store, runtime, config, logger.child({ component: 'control' }));
  if (pool !== undefined) {
    pool.attach({ runtime, control, telemetry });
    control.followers = pool;
  }
  const prometheus = config.rollouts?.prometheus;
  const rollouts = new RolloutController({
    control,
    telemetry,
    store,
    logger: logger.child({ component: 'rollout' }),
    events: (service, ev) => runtime.event(service, ev),
    mirror: localMirror(control, telemetry, store),
    ...(prometheus !== undefined ? { metrics: prometheusMetrics(prometheus.url, prometheus.timeoutMs) } : {}),
  });
  store.fleet.report({
    inFlight: () => runtime.drainingInFlight(),
    pools: () => telemetry.allPoolCounts(Date.now()),
    ...(pool !== undefined ? { workers: () => pool.workersInfo(), tally: () => pool.tally() } : {}),
  });
  try {
    await control.init(opts.resetState ?? false);
    await runtime.warmUp();
  } catch (err) {
    await runtime.close();
    await store.close().catch(() => undefined);
    throw err;
  }

  let ready = false;
  const proxy =
    pool !== undefined
      ? undefined
      : new ProxyServer({
          listen: config.listen,
          tables: runtime,
          observer: runtime.observer,
          logger: logger.child({ component: 'access' }),
          accessLog: config.log.access,
          accessSample: config.log.accessSample,
        });
  if (proxy !== undefined) runtime.on('table', () => proxy.tableChanged());
  const listener = proxy ?? (pool as WorkerPool);
  let admin: FastifyInstance | undefined;
  try {
    let served = config;
    let reloader: Reloader | undefined;
    const reload = (o: { readonly dryRun: boolean } = { dryRun: false }): Promise<ReloadAnswer> => {
      if (reloader === undefined) throw new Error('turnout is not started yet');
      return reloader.reload(o.dryRun);
    };
    const upgrade = (o: { readonly wait: boolean; readonly supervisor?: boolean }): Promise<UpgradeOutcome> => {
      if (pool === undefined) return Promise.reject(new ConflictError('the data plane runs in this process (no workers): there is nothing to upgrade without a restart'));
      if (o.supervisor === true) {
        if (replaceSupervisor === undefined) return Promise.reject(new ConflictError('turnout is not started yet'));
        return replaceSupervisor(o.wait);
      }
      return pool.upgrade(o.wait);
    };
    let replaceSupervisor: ((wait: boolean) => Promise<UpgradeOutcome>) | undefined;
    admin = await buildAdminApp({ config, runtime, control, store, telemetry, rollouts, logger, isReady: () => ready, reload, ...(pool !== undefined ? { upgrade, fresh: () => pool.tally() } : {}) });
    // A successor accepts on its predecessor's admin socket (no moment without an admin listener).
    await admin.listen({ host: config.admin.host, port: config.admin.port, ...(opts.listeners?.admin !== undefined ? { handle: opts.listeners.admin } : {}) });
    collectStartupGarbage();
    const addr = await listener.listen();
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
      listener,
      logger: logger.child({ component: 'reload' }),
      onApplied: (next, moved) => {
        served = next;
        if (moved !== undefined) proxyUrl = urlOf(moved);
      },
    });
    const adminInstance = admin;
    let stopping: Promise<{ cutRequests: number; closedUpgrades: number }> | undefined;
    if (pool !== undefined) {
      replaceSupervisor = (wait) => {
        if (stopping !== undefined) return Promise.reject(new ConflictError('turnout is stopping'));
        return upgradeSupervisor({
          pool,
          config: served,
          admin: adminInstance,
          env: opts.successorEnv ?? {},
          wait,
          stop: (drained) => {
            ready = false;
            rollouts.stop();
            stopping = drained.then(async (cut) => {
              // The answer leaves first (wait=drained answers once the workers drained).
              await new Promise((r) => setTimeout(r, 200));
              await adminInstance.close().catch(() => undefined);
              await runtime.close();
              await store.close().catch(() => undefined);
              opts.onReplaced?.();
              return cut;
            });
          },
        });
      };
    }
    return {
      get config() {
        return served;
      },
      proxy,
      workers: pool,
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
      get inFlight() {
        return proxy !== undefined ? proxy.inFlight : (pool as WorkerPool).totalInFlight;
      },
      reload,
      upgrade,
      stop(timeoutMs = served.shutdownTimeoutMs) {
        stopping ??= (async () => {
          ready = false;
          rollouts.stop();
          const cut = await listener.shutdown(timeoutMs);
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
    await listener.close().catch(() => undefined);
    await runtime.close();
    await store.close().catch(() => undefined);
    throw err;
  }
}
