import type { Static } from '@sinclair/typebox';
import type { BackendResponse, BackendViewSchema, HistoryResponse, ReloadResponse, ServiceResponse, ServicesResponse, ServiceViewSchema } from '../admin/index.js';

// The admin API's answers as the server declares them (src/admin/schemas.ts). TypeBox types a
// `Type.Ref` as unknown, so the references to Backend and Service are filled in here.

export type BackendView = Static<typeof BackendViewSchema>;
export type ServiceView = Omit<Static<typeof ServiceViewSchema>, 'pools'> & { pools: Record<string, { backends: BackendView[] }> };
export type ServiceAnswer = Omit<Static<typeof ServiceResponse>, 'service'> & { service: ServiceView };
export type ServicesAnswer = Omit<Static<typeof ServicesResponse>, 'services'> & { services: ServiceView[] };
export type BackendAnswer = Omit<Static<typeof BackendResponse>, 'backend'> & { backend: BackendView };
export type HistoryAnswer = Static<typeof HistoryResponse>;
export type ReloadAnswer = Static<typeof ReloadResponse>;
