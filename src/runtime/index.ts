export { Runtime } from './runtime.js';
export type { BackendView, RuntimeOptions } from './runtime.js';
export { ControlPlane } from './control-plane.js';
export { seedState, reconcileState } from './seed.js';
export type { ExecuteOptions, FlipOutcome, Followers } from './control-plane.js';
export type { ServiceEvent } from './events.js';
export type { HealthFacts, RemoteFacts } from './context.js';
