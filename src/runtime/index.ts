export { Runtime } from './runtime.js';
export type { BackendView, RuntimeOptions } from './runtime.js';
export { ControlPlane } from './control-plane.js';
export { seedState, reconcileState } from './seed.js';
export type { ExecuteOptions, FlipOutcome } from './control-plane.js';
export { RoutingTable, buildServiceTable, pathMatches, EMPTY_TABLE } from './table.js';
export type { ServiceTable, PoolTable } from './table.js';
export type { ServiceEvent } from './events.js';
