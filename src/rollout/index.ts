export { RolloutController } from './controller.js';
export type { StartRollout, RolloutAction, RolloutProgress, RolloutControllerOptions } from './controller.js';
