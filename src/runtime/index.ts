export { Runtime } from './runtime.js';
export type { BackendView, RuntimeOptions } from './runtime.js';
export { ControlPlane } from './control-plane.js';
export { seedState, reconcileState } from './seed.js';
export type { ExecuteOptions, FlipOutcome } from './control-plane.js';
export type { ServiceEvent } from './events.js';
