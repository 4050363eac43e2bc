export type { AdminState, Health, Split, DrainRecord, BackendRecord, PoolRecord, HistoryEntry, ServiceRecord, StateSnapshot } from './types.js';
export { HISTORY_LIMIT, MAX_POOLS, MAX_WEIGHT, DEFAULT_WEIGHT } from './types.js';
export { applyCommand, poolHasEligible } from './commands.js';
export type { Command, CommandContext, CommandResult } from './commands.js';
export { toBasisPoints, sumBasisPoints, completeSplit, flipSplit, canarySplit } from './split.js';
export { decide, validateSteps, isActive as isRolloutActive, ACTIVE_ROLLOUT_STATES } from './rollout.js';
export type { RolloutRecord, RolloutState, RolloutGates, RolloutDecision, GateReading, StepResult } from './rollout.js';
export { healthAllows, isEligible } from './eligibility.js';
export type { EligibilityFacts, LocalFacts } from './eligibility.js';
