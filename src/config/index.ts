export { loadConfigFile, parseConfigText, isLoopbackHost } from './load.js';
export type { Config, ServiceConfig, HealthCheckSettings, OutlierSettings, AdminToken, RouteSettings, SeedBackend } from './types.js';
export { ConfigSchema, Duration, Name, BackendUrl, Weight, MirrorConfig } from './schema.js';
export { diffConfig, keepUnchanged } from './diff.js';
export type { ConfigChange } from './diff.js';
export { describeStore, redactUrl, redactedState } from './state.js';
export type { StateSettings, RedisTlsSettings } from './types.js';
