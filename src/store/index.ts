import type { Logger } from 'pino';
import { describeStore } from '../config/index.js';
import type { Config } from '../config/index.js';
import { FileStore } from './file.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import { redisConnection } from './redis-connection.js';
import type { StateStore } from './types.js';

export type { StateStore, FleetInstance, PoolCounts, WorkerInfo } from './types.js';
export type { Fleet, FleetReport } from './fleet.js';
export { LocalFleet, NO_COUNTS } from './fleet.js';
export { RedisStore } from './redis.js';
export { redisConnection } from './redis-connection.js';
export type { RedisConnection } from './redis-connection.js';
export { connectedReplicas, replicaWaitOutcome } from './replicas.js';
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
      return new RedisStore({ connection: redisConnection(config, describeStore(config)), prefix: config.prefix, logger: logger.child({ component: 'store' }) });
  }
}
