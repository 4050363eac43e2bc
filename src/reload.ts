import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { diffConfig, keepUnchanged, loadConfigFile } from './config/index.js';
import type { Config, ConfigChange } from './config/index.js';
import { ConfigError, ConfigInvalidError, ConflictError } from './errors.js';
import type { StateSnapshot } from './model/index.js';
import type { ControlPlane } from './runtime/index.js';

/** What a reload answers: the revision it serves and what changed (empty for an unchanged file). */
export interface ReloadAnswer {
  readonly revision: number;
  readonly changes: readonly ConfigChange[];
  /** `?dryRun=true`: the file was checked and compared, nothing applied. */
  readonly dryRun?: boolean;
}

/** The listener a reload moves and retunes: the proxy in this process, or a supervisor's worker pool. */
export interface ReloadableListener {
  /** New `listen` settings for connections from now on. */
  updateListen(listen: Config['listen']): void;
  /** Listens on a new address: bound first, then the old listener closes. */
  rebind(host: string, port: number): Promise<{ host: string; port: number }>;
  /** New connections get this certificate and key. */
  reloadTls(certFile: string, keyFile: string): void;
}

export interface ReloaderOptions {
  /** The file to read again; undefined when started from a config object (a reload is then refused). */
  readonly file: string | undefined;
  /** The config as the file gave it at start (before `serve` added tokens from the environment). */
  readonly fileConfig: Config;
  /** The config being served. */
  readonly served: Config;
  readonly control: ControlPlane;
  readonly listener: ReloadableListener;
  readonly logger: Logger;
  /** Called with the config served after each applied reload. */
  readonly onApplied: (config: Config, proxyAddress: { host: string; port: number } | undefined) => void;
}

const fingerprint = (cert: Buffer, key: Buffer): string => `sha256:${createHash('sha256').update(cert).update(key).digest('hex').slice(0, 16)}`;

/**
 * Reads the config file again and applies it without a restart (SIGHUP, `POST /v1/config/reload`,
 * `turnout reload`). Checks everything that can fail before changing anything: the file (400
 * config_invalid with key paths), keys only a restart applies (409), the TLS files (400), the new
 * listener address (409 when it cannot be bound). Then services and the state, then listen
 * settings and the certificate. One reload at a time.
 */
export class Reloader {
  private fileConfig: Config;
  private served: Config;
  private tlsPrint: string | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ReloaderOptions) {
    this.fileConfig = opts.fileConfig;
    this.served = opts.served;
    const t = opts.served.listen.tls;
    if (t !== undefined) this.tlsPrint = fingerprint(readFileSync(t.certFile), readFileSync(t.keyFile));
  }

  /** With `dryRun`, checks the file and answers the changes it would make, applying nothing. */
  reload(dryRun = false): Promise<ReloadAnswer> {
    const run = this.chain.then(() => this.reloadNow(dryRun));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(dryRun: boolean): Promise<ReloadAnswer> {
    const { file, control, listener: proxy, logger } = this.opts;
    if (file === undefined) throw new ConflictError('this turnout was not started from a config file: nothing to reload');
    let next: Config;
    try {
      next = loadConfigFile(file);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigInvalidError(`${err.message}\n(nothing was changed)`, err.problems);
      throw err;
    }
    const changes = diffConfig(this.fileConfig, next);
    const restart = changes.filter((c) => c.kind === 'restart_required');
    if (restart.length > 0) {
      const paths = restart.map((c) => ('path' in c ? c.path : '')).join(', ');
      throw new ConflictError(`${paths}: only a restart applies ${restart.length > 1 ? 'these keys' : 'this key'}; nothing was changed`, restart);
    }
    // The admin section is the one served (with tokens from the environment); it did not change.
    const served = keepUnchanged(this.served, { ...next, admin: this.served.admin }, changes);
    const applied: ConfigChange[] = [...changes];

    const tlsFiles = served.listen.tls;
    let tlsPrint: string | undefined;
    if (tlsFiles !== undefined) {
      try {
        const cert = readFileSync(tlsFiles.certFile);
        const key = readFileSync(tlsFiles.keyFile);
        createSecureContext({ cert, key });
        tlsPrint = fingerprint(cert, key);
      } catch (err) {
        const problem = `listen.tls: cannot use ${tlsFiles.certFile} and ${tlsFiles.keyFile}: ${(err as Error).message}`;
        throw new ConfigInvalidError(`invalid config ${file}:\n  - ${problem}\n(nothing was changed)`, [problem]);
      }
      if (tlsPrint !== this.tlsPrint && !changes.some((c) => c.kind === 'listen_changed' && c.path.startsWith('listen.tls.'))) {
        applied.push({ kind: 'listen_changed', path: 'listen.tls', from: this.tlsPrint ?? null, to: tlsPrint });
      }
    }

    if (dryRun) return { revision: control.current.revision, changes: applied, dryRun: true };
    const prevListen = this.served.listen;
    let address: { host: string; port: number } | undefined;
    if (served.listen.host !== prevListen.host || served.listen.port !== prevListen.port) {
      try {
        // Bound before the old listener closes: no connection is refused during the move.
        proxy.updateListen(served.listen);
        address = await proxy.rebind(served.listen.host, served.listen.port);
      } catch (err) {
        proxy.updateListen(prevListen);
        throw new ConflictError(`listen: cannot listen on ${served.listen.host}:${served.listen.port}: ${(err as Error).message}; nothing was changed`);
      }
    }
    let state: StateSnapshot;
    try {
      state = await control.reconfigure(served);
    } catch (err) {
      // The store refused the write: put the listener back where it was, so nothing changed.
      if (address !== undefined) await proxy.rebind(prevListen.host, prevListen.port).catch(() => undefined);
      proxy.updateListen(prevListen);
      throw err;
    }
    proxy.updateListen(served.listen);
    if (tlsFiles !== undefined && tlsPrint !== this.tlsPrint) proxy.reloadTls(tlsFiles.certFile, tlsFiles.keyFile);
    this.tlsPrint = tlsPrint;
    this.fileConfig = next;
    this.served = served;
    this.opts.onApplied(served, address);
    logger.info({ revision: state.revision, changes: applied }, applied.length === 0 ? 'config reloaded: nothing changed' : `config reloaded: ${applied.length} change(s)`);
    return { revision: state.revision, changes: applied };
  }
}
