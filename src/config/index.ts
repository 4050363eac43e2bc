export { loadConfigFile, parseConfigText, isLoopbackHost } from './load.js';
export type { Config, ServiceConfig, HealthCheckSettings, OutlierSettings, AdminToken, RouteSettings, SeedBackend } from './types.js';
export { ConfigSchema, Duration, Name, BackendUrl, Weight } from './schema.js';
