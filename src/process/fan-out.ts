import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { ServiceRecord, StateSnapshot } from '../model/index.js';
import type { Runtime } from '../runtime/index.js';
import type { WorkerChild } from './child.js';
import { forWorkers, stateForWorkers } from './protocol.js';

/** How long a write waits for the workers to apply its state before answering anyway. */
const APPLY_MS = 2_000;

/**
 * What the supervisor knows, to every worker: each state (as a delta against the last one sent),
 * each reload's config, and the health its checks see. A write answers once every serving worker
 * applied it (or APPLY_MS passed).
 */
export class StateFanOut {
  private healthSent = '';
  private seq = 0;
  /** The services of the last state sent to the workers (deltas are taken against it). */
  private sent: StateSnapshot['services'] = {};

  constructor(
    private readonly workers: () => Iterable<WorkerChild>,
    private readonly runtime: () => Runtime,
    private readonly logger: Logger,
  ) {}

  /** A new worker starts from `state`: the next delta builds on it. */
  startsFrom(state: StateSnapshot): StateSnapshot {
    this.sent = state.services;
    return stateForWorkers(state);
  }

  async state(state: StateSnapshot): Promise<void> {
    const changed: Record<string, ServiceRecord> = {};
    for (const [name, svc] of Object.entries(state.services)) if (this.sent[name] !== svc) changed[name] = forWorkers(svc);
    const removed = Object.keys(this.sent).filter((name) => !Object.hasOwn(state.services, name));
    this.sent = state.services;
    for (const w of this.workers()) w.send({ t: 'state', revision: state.revision, changed, removed });
    await this.allServing((w) => (w.report?.revision ?? 0) >= state.revision, 'apply revision ' + state.revision);
  }

  async config(config: Config, state: StateSnapshot): Promise<void> {
    this.health();
    const seq = ++this.seq;
    this.sent = state.services;
    const whole = stateForWorkers(state);
    for (const w of this.workers()) w.send({ t: 'config', seq, config, state: whole });
    await this.allServing((w) => (w.report?.ack ?? 0) >= seq, 'apply the reloaded config');
  }

  /** The health the supervisor's checks see, to every worker when it changed. */
  health(): void {
    const health = this.runtime().healthFacts();
    const shape = JSON.stringify(Object.entries(health).map(([k, v]) => [k, v.health]));
    if (shape === this.healthSent) return;
    this.healthSent = shape;
    for (const w of this.workers()) w.send({ t: 'health', health });
  }

  private async allServing(test: (w: WorkerChild) => boolean, what: string): Promise<void> {
    const serving = [...this.workers()].filter((w) => w.state === 'serving');
    const done = await Promise.all(serving.map((w) => w.until(test, APPLY_MS)));
    const late = serving.filter((w, i) => !done[i] && !w.exited);
    if (late.length > 0) this.logger.warn({ workers: late.map((w) => w.pid) }, `worker(s) did not ${what} within ${APPLY_MS}ms`);
  }
}
