export { buildAdminApp } from './app.js';
export type { AdminOptions } from './route-options.js';
export { TokenAuth, sanitizeActor } from './auth.js';
export type { BackendResponse, BackendViewSchema, HistoryResponse, ReloadResponse, ServiceResponse, ServicesResponse, ServiceViewSchema } from './schemas.js';
