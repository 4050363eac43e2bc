import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

const STATES = ['running', 'paused', 'promoted', 'rolled_back', 'aborted'] as const;

/** turnout_rollout_checks_total{service,result} and turnout_rollout_state{service,state}. */
export class RolloutMetrics {
  private readonly checks: Counter;
  private states: () => Iterable<readonly [string, string]> = () => [];

  constructor(registry: Registry) {
    const registers = [registry];
    this.checks = new Counter({
      name: 'turnout_rollout_checks_total',
      help: 'Rollout checks judged by this instance, by service and result (passed or failed).',
      labelNames: ['service', 'result'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'turnout_rollout_state',
      help: 'State of the current (or last) rollout of a service: 1 for its state, 0 for the others.',
      labelNames: ['service', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [service, state] of self.states()) for (const s of STATES) this.set({ service, state: s }, s === state ? 1 : 0);
      },
    });
  }

  onCheck(service: string, passed: boolean): void {
    this.checks.labels(service, passed ? 'passed' : 'failed').inc();
  }

  /** Where the gauge reads each service's rollout state at scrape time. */
  readStatesFrom(states: () => Iterable<readonly [string, string]>): void {
    this.states = states;
  }
}
