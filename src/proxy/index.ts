export { ProxyServer } from './server.js';
export type { ProxyServerOptions } from './server.js';
export type { ProxyObserver, TableSource } from './observer.js';
export type { HoldStats } from './hold.js';
export { Upstream } from './upstream.js';
export type { UpgradedConnection, UpstreamOptions } from './upstream.js';
export { choosePool } from './choose.js';
export { RoutingTable, buildServiceTable, pathMatches, EMPTY_TABLE } from './table.js';
export type { ServiceTable, PoolTable } from './table.js';
