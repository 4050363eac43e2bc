export { createLogger } from './logger.js';
export { Telemetry } from './metrics.js';
export type { TelemetrySource, PoolLive, BackendLive } from './metrics.js';
export { RollingWindow } from './window.js';
export type { WindowSummary } from './window.js';
export { trafficSnapshot, SNAPSHOT_WINDOW_SECONDS } from './snapshot.js';
export type { TrafficSnapshot, ServiceTraffic, PoolTraffic, BackendTraffic } from './snapshot.js';
