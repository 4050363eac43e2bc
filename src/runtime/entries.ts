import type { Logger } from 'pino';
import type { ServiceConfig } from '../config/index.js';
import type { BackendRecord, StateSnapshot } from '../model/index.js';
import type { TelemetrySink } from '../telemetry/index.js';
import type { BackendEntry, BackendSet } from './backends.js';
import type { Drains } from './drain.js';

/** What the backend entries' life needs from the runtime. */
export interface EntriesHost {
  readonly backends: BackendSet;
  readonly log: Logger;
  readonly telemetry: TelemetrySink | undefined;
  now(): number;
  settings(name: string): ServiceConfig | undefined;
  inFlightOf(e: BackendEntry): number;
  emit(event: 'removed', service: string, id: string): boolean;
}

/**
 * The runtime's backend entries lined up with a state: created for new backends, dropped for
 * removed ones (or retired when their service left, so what they serve finishes), drains tracked.
 */
export class Entries {
  constructor(
    private readonly host: EntriesHost,
    private readonly drains: Drains,
    private readonly checks: { adopt(e: BackendEntry): void },
  ) {}

  /** Lines the backends of the named services up with `state` and the served config. */
  sync(state: StateSnapshot, names: ReadonlySet<string>): void {
    const { backends } = this.host;
    const seen = new Set<string>();
    for (const name of names) {
      const svc = state.services[name];
      const settings = this.host.settings(name);
      if (svc === undefined || settings === undefined) continue;
      for (const [poolName, pool] of Object.entries(svc.pools)) {
        for (const record of pool.backends) {
          let entry = backends.get(name, record.id);
          if (entry !== undefined && entry.record.url !== record.url) {
            this.drop(entry, 'url changed');
            entry = undefined;
          }
          if (entry === undefined) {
            entry = this.create(name, poolName, record, settings);
          } else {
            entry.pool = poolName;
            entry.record = record;
          }
          seen.add(entry.key);
          this.drains.track(entry);
        }
      }
    }
    for (const e of [...backends.values()]) {
      if (!names.has(e.service) || seen.has(e.key)) continue;
      if (this.host.settings(e.service) === undefined || state.services[e.service] === undefined) {
        // Its service is gone: let what it serves finish rather than cut it.
        this.retire(e);
      } else {
        this.drop(e, 'removed');
      }
    }
  }

  /** Its service is gone: out of the table with the next rebuild, what it serves finishes. */
  retire(e: BackendEntry): void {
    this.host.backends.delete(e);
    this.drains.retire(e.upstream, this.host.now() + e.settings.drainTimeoutMs, { service: e.service, pool: e.pool });
  }

  create(service: string, pool: string, record: BackendRecord, settings: ServiceConfig): BackendEntry {
    const entry = this.host.backends.create(service, pool, record, settings);
    this.checks.adopt(entry);
    entry.upstream.onIdle = () => this.drains.onIdle(entry);
    return entry;
  }

  private drop(entry: BackendEntry, why: string): void {
    this.host.backends.delete(entry);
    if (entry.record.state === 'draining') this.drains.ended(entry.service, entry.pool, entry.upstream, this.host.inFlightOf(entry));
    else this.host.log.debug({ service: entry.service, backend: entry.record.id, why }, 'backend dropped');
    entry.upstream.onIdle = undefined;
    this.host.telemetry?.forget(entry.upstream);
    void entry.upstream.destroy();
    this.host.emit('removed', entry.service, entry.record.id);
  }
}
