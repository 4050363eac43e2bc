import type { Config } from '../config/index.js';
import { FileStore } from './file.js';
import { MemoryStore } from './memory.js';
import type { StateStore } from './types.js';

export type { StateStore } from './types.js';
export { MemoryStore } from './memory.js';
export { FileStore, parseStateFile } from './file.js';

/** The store the config names. `redis` is the fleet kind (its own issue); the seam is here. */
export function createStore(config: Config['state']): StateStore {
  switch (config.store) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return new FileStore(config.path);
    case 'redis':
      throw new Error('state.store "redis" is not available in this build yet; use "file" or "memory"');
  }
}
