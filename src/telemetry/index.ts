export { createLogger } from './logger.js';
export { Telemetry, MIRROR_KEY_SUFFIX, mirrorKey } from './telemetry.js';
export type { TelemetryOptions } from './telemetry.js';
export type { TelemetrySource, PoolLive, BackendLive, MirrorLive } from './source.js';
export type { TelemetrySink } from './sink.js';
export { RollingWindow } from './window.js';
export type { WindowSummary } from './window.js';
export { trafficSnapshot, SNAPSHOT_WINDOW_SECONDS } from './snapshot.js';
export type { TrafficSnapshot, ServiceTraffic, PoolTraffic, BackendTraffic, MirrorTraffic } from './snapshot.js';
