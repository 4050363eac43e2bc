export { EdfBalancer } from './edf.js';
export { SplitPicker } from './split-picker.js';
export type { PoolShare } from './split-picker.js';
export { slowStartWeight, inSlowStart, SLOW_START_FLOOR } from './slow-start.js';
export { readStickyCookie } from './sticky.js';
