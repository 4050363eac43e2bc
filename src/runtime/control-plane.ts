import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { NotFoundError, RevisionMismatchError, StoreUnavailableError, TurnoutError } from '../errors.js';
import { applyCommand } from '../model/index.js';
import type { Command, CommandResult, StateSnapshot } from '../model/index.js';
import type { StateStore } from '../store/index.js';
import type { Runtime } from './runtime.js';
import { reconcileState, seedState } from './seed.js';

export interface ExecuteOptions {
  readonly actor: string;
  /** Revision from If-Match; a stale one is refused with 412. */
  readonly ifMatch?: number | undefined;
  readonly dryRun?: boolean;
  readonly force?: boolean;
}

/** What a flip answers: the state, and with `waitDrained` how the wait for the old pools ended. */
export interface FlipOutcome {
  /** The state the flip produced; after a wait, the state when the wait ended. */
  readonly state: StateSnapshot;
  /** `waitDrained`: the pools that lost traffic emptied before the service's drain timeout. */
  readonly drained?: boolean;
  /** `waitDrained`: requests still in flight on those pools when the wait ended. */
  readonly inFlight?: number;
}

/**
 * Processes that serve the state besides this one (a supervisor's workers): each write, store
 * change and reload is applied by them too, and a write answers once they did.
 */
export interface Followers {
  followState(state: StateSnapshot): Promise<void>;
  followConfig(config: Config, state: StateSnapshot): Promise<void>;
}

/**
 * The one way state changes: validate a command against the current state (pure, in `model`),
 * compare-and-set it into the store, then apply it to the runtime before answering, so the next
 * request a client sends already sees it. Writes are serialised in this process.
 */
export class ControlPlane {
  private state!: StateSnapshot;
  private chain: Promise<unknown> = Promise.resolve();
  /** A supervisor's workers. */
  followers: Followers | undefined;

  constructor(
    private readonly store: StateStore,
    private readonly runtime: Runtime,
    private config: Config,
    private readonly log: Logger,
  ) {
    runtime.removeBackend = async (service, pool, id, atDeadline) => {
      // In a fleet, other instances may still have requests on it: wait for them (to the deadline).
      const fleet = this.store.fleet;
      if (!atDeadline) {
        if (fleet.othersInFlight(`${service}/${id}`) > 0) return false;
        // Give every instance a heartbeat or two to report requests it started just before the drain.
        const drain = this.state.services[service]?.pools[pool]?.backends.find((b) => b.id === id)?.drain;
        if (drain !== undefined && Date.now() - Date.parse(drain.startedAt) < fleet.reportLagMs) return false;
      }
      const still = this.state.services[service]?.pools[pool]?.backends.some((b) => b.id === id && b.state === 'draining');
      if (!still) return true; // another instance removed it already
      await this.execute({ kind: 'remove', service, pool, id }, { actor: 'turnout:drain' });
      return true;
    };
    store.onChange((next) => {
      if (next.revision > this.state.revision) {
        this.state = next;
        this.runtime.applyState(next);
        this.store.fleet.setApplied(next.revision);
        void this.followers?.followState(next);
      }
    });
  }

  get current(): StateSnapshot {
    return this.state;
  }

  /** Loads the stored state (or seeds it from the config) and lines it up with the config's services. */
  async init(resetState: boolean): Promise<void> {
    // In a fleet another instance may seed or reconcile at the same moment: on a lost
    // compare-and-set, read again and take what it wrote.
    for (let attempt = 0; ; attempt++) {
      try {
        this.state = await this.initOnce(resetState && attempt === 0);
        break;
      } catch (err) {
        if (!(err instanceof RevisionMismatchError) || attempt >= 4) throw err;
      }
    }
    this.runtime.applyState(this.state);
    this.store.fleet.setApplied(this.state.revision);
  }

  private async initOnce(resetState: boolean): Promise<StateSnapshot> {
    const stored = resetState ? undefined : await this.store.load();
    if (stored === undefined) {
      let state = seedState(this.config.services);
      if (resetState) {
        const existing = await this.store.load().catch(() => undefined);
        if (existing !== undefined) state = { ...state, revision: existing.revision + 1 };
      }
      await this.store.write(state, state.revision - 1);
      this.log.info({ revision: state.revision, store: this.store.kind }, resetState ? 'state reset from config' : 'state seeded from config');
      return state;
    }
    const state = reconcileState(stored, this.config.services);
    if (state !== stored) await this.store.write(state, stored.revision);
    this.log.info({ revision: state.revision, store: this.store.kind }, 'state loaded');
    return state;
  }

  /**
   * A reload: lines the stored state up with `config`'s services (a new service's pools seeded, a
   * removed service's state dropped: one revisioned write, none when nothing differs; what deploy
   * tools set on known services is kept), then has the runtime serve `config`. Serialised with
   * the writes; resolves with the state it serves.
   */
  reconfigure(config: Config): Promise<StateSnapshot> {
    const run = this.chain.then(async () => {
      for (let attempt = 0; ; attempt++) {
        const before = this.state;
        const next = reconcileState(before, config.services);
        try {
          if (next !== before) await this.store.write(next, before.revision);
        } catch (err) {
          if (err instanceof RevisionMismatchError && attempt < 4) {
            const fresh = await this.store.load();
            if (fresh !== undefined && fresh.revision > this.state.revision) this.state = fresh;
            continue;
          }
          if (err instanceof TurnoutError) throw err;
          throw new StoreUnavailableError(`the state store refused the write: ${(err as Error).message}`, err);
        }
        // A newer state may have arrived while the write waited for a replica: never step back.
        if (next.revision > this.state.revision) this.state = next;
        this.config = config;
        await this.runtime.reconfigure(config, this.state);
        await this.followers?.followConfig(config, this.state);
        this.store.fleet.setApplied(this.state.revision);
        if (next !== before) this.log.info({ actor: 'turnout:reload', action: 'reload', revision: next.revision }, 'state changed');
        return this.state;
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  execute(cmd: Command, opts: ExecuteOptions): Promise<CommandResult> {
    const run = this.chain.then(() => this.executeNow(cmd, opts));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Blue-green flip: 100 % of `service` to pool `to`. With `waitDrained` (and not a dry run) it
   * answers once the pools that lost traffic have nothing in flight here, or the service's drain
   * timeout passed, so a deploy script knows when the old instances may stop.
   */
  async flipAndWait(service: string, to: string, opts: ExecuteOptions & { readonly waitDrained?: boolean }): Promise<FlipOutcome> {
    const result = await this.execute({ kind: 'flip', service, to }, opts);
    if (opts.waitDrained !== true || opts.dryRun === true) return result;
    const settings = this.config.services[service];
    if (settings === undefined) throw new NotFoundError(`service "${service}" does not exist`);
    // The split the flip replaced is the last one it pushed on the service's split history (taken
    // from the result, not from the state now: other writes may have followed).
    const before = result.state.services[service]?.splitHistory.at(-1) ?? {};
    const lost = Object.keys(before).filter((p) => (before[p] ?? 0) > 0 && p !== to);
    const drained = await this.runtime.waitFor(() => this.runtime.poolsInFlight(service, lost) === 0, Date.now() + settings.drainTimeoutMs);
    return { state: this.state, drained, inFlight: this.runtime.poolsInFlight(service, lost) };
  }

  private async executeNow(cmd: Command, opts: ExecuteOptions): Promise<CommandResult> {
    // Another instance may have written since we last applied: without If-Match, re-read and
    // validate again (a few times) instead of refusing a write the caller did not condition.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.tryExecute(cmd, opts);
      } catch (err) {
        if (!(err instanceof RevisionMismatchError) || opts.ifMatch !== undefined || attempt >= 4) throw err;
        const fresh = await this.store.load();
        if (fresh === undefined) {
          // The store lost its data (a Redis restarted without persistence): put back the state we
          // serve; the compare-and-set on revision 0 lets only one instance of a fleet do it.
          this.log.warn({ revision: this.state.revision }, 'the state store is empty: restoring the state this instance serves');
          await this.store.write(this.state, 0).catch(() => undefined);
          continue;
        }
        if (fresh.revision > this.state.revision) {
          this.state = fresh;
          this.runtime.applyState(fresh);
          this.store.fleet.setApplied(fresh.revision);
          void this.followers?.followState(fresh);
        }
      }
    }
  }

  private async tryExecute(cmd: Command, opts: ExecuteOptions): Promise<CommandResult> {
    const before = this.state;
    if (opts.ifMatch !== undefined && opts.ifMatch !== before.revision) throw new RevisionMismatchError(opts.ifMatch, before.revision);
    const now = Date.now();
    const result = applyCommand(before, cmd, {
      now: new Date(now).toISOString(),
      nowMs: now,
      actor: opts.actor,
      force: opts.force ?? false,
      local: (service, id) => this.runtime.local(service, id),
    });
    if (opts.dryRun === true) return result;
    try {
      await this.store.write(result.state, before.revision);
    } catch (err) {
      if (err instanceof TurnoutError) throw err;
      throw new StoreUnavailableError(`the state store refused the write: ${(err as Error).message}`, err);
    }
    // A fleet store answers once a replica has the write; another instance's newer state (built
    // on this one) may have been applied meanwhile: the revision served never steps back.
    if (result.state.revision > this.state.revision) {
      this.state = result.state;
      this.runtime.applyState(result.state);
      await this.followers?.followState(result.state);
      this.store.fleet.setApplied(result.state.revision);
    }
    this.log.info({ actor: opts.actor, action: cmd.kind, service: cmd.service, revision: result.state.revision }, 'state changed');
    return result;
  }
}
