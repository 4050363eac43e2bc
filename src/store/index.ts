import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { FileStore } from './file.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { StateStore } from './types.js';

export type { StateStore, FleetInstance, PoolCounts, WorkerInfo } from './types.js';
export type { Fleet, FleetReport } from './fleet.js';
export { LocalFleet, NO_COUNTS } from './fleet.js';
export { RedisStore } from './redis.js';
export { MemoryStore } from './memory.js';
export { FileStore, parseStateFile } from './file.js';

/** The store the config names. */
export function createStore(config: Config['state'], logger: Logger): StateStore {
  switch (config.store) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return new FileStore(config.path);
    case 'redis':
      return new RedisStore({ url: config.url ?? 'redis://127.0.0.1:6379', prefix: config.prefix, logger: logger.child({ component: 'store' }) });
  }
}
