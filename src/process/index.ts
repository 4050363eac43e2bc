export { WorkerPool } from './pool.js';
export type { WorkerPoolOptions } from './pool.js';
export type { UpgradeOutcome } from './upgrade.js';
export { workerScript } from './script.js';
export { runtimeFilePath } from './runtime-file.js';
export { isSuccessor, receiveListeners, startSuccessor, tellPredecessorReady } from './successor.js';
export type { Listeners } from './successor.js';
export { upgradeSupervisor } from './supervisor-upgrade.js';
