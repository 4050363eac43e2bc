export { WorkerPool } from './pool.js';
export type { UpgradeOutcome, WorkerPoolOptions } from './pool.js';
export { workerScript } from './script.js';
