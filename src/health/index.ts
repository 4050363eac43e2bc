export { HealthChecker } from './checker.js';
export type { CheckTarget, ProbeResult } from './checker.js';
export { GRPC_HEALTH_CHECK, checkExpects, checkName, checkRequest } from './probe.js';
export { INITIAL_OUTLIER_STATE, isEjected, maxEjected, onReturn, recordOutcome, ejectDuration } from './outlier.js';
export type { OutlierState } from './outlier.js';
export { INITIAL_CHECK_STATE, observe } from './state-machine.js';
export type { CheckState, Thresholds } from './state-machine.js';
