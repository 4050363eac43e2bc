import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { BackendLive, PoolLive } from './source.js';

export interface ScrapedService {
  readonly service: string;
  readonly split: Readonly<Record<string, number>>;
  readonly pools: readonly PoolLive[];
}

const STATES = ['active', 'draining', 'maint'] as const;

/**
 * The gauges about the current state (in-flight, health, weights, split, revision): nothing is
 * kept between scrapes; each collect callback reads the services `eachService` lists.
 */
export function registerStateGauges(registry: Registry, eachService: (cb: (s: ScrapedService) => void) => void, revision: () => number): void {
  const registers = [registry];
  const eachBackend = (cb: (service: string, pool: string, b: BackendLive) => void): void =>
    eachService((s) => {
      for (const p of s.pools) for (const b of p.backends) cb(s.service, p.name, b);
    });
  const backendGauge = (name: string, help: string, value: (b: BackendLive) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['service', 'pool', 'backend'],
      registers,
      collect() {
        this.reset();
        eachBackend((s, p, b) => this.set({ service: s, pool: p, backend: b.id }, value(b)));
      },
    });
  };
  backendGauge('turnout_backend_in_flight', 'Requests and upgraded connections in flight on a backend.', (b) => b.inFlight);
  backendGauge(
    'turnout_backend_healthy',
    '1 when the backend may take traffic as far as health goes (healthy, or unknown without checks), else 0.',
    (b) => (b.healthOk ? 1 : 0),
  );
  backendGauge('turnout_backend_weight', 'Configured weight (0..1000) of a backend.', (b) => b.weight);
  new Gauge({
    name: 'turnout_backend_state',
    help: 'Admin state of a backend: 1 for its current state, 0 for the others.',
    labelNames: ['service', 'pool', 'backend', 'state'],
    registers,
    collect() {
      this.reset();
      eachBackend((s, p, b) => {
        for (const st of STATES) this.set({ service: s, pool: p, backend: b.id, state: st }, b.state === st ? 1 : 0);
      });
    },
  });
  new Gauge({
    name: 'turnout_split_percent',
    help: 'Share of new requests a pool gets, in percent.',
    labelNames: ['service', 'pool'],
    registers,
    collect() {
      this.reset();
      eachService((s) => {
        for (const [p, v] of Object.entries(s.split)) this.set({ service: s.service, pool: p }, v);
      });
    },
  });
  new Gauge({
    name: 'turnout_state_revision',
    help: 'Revision of the state this process has applied.',
    registers,
    collect() {
      this.set(revision());
    },
  });
}
