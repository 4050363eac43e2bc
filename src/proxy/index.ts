export { ProxyServer } from './server.js';
export type { ProxyServerOptions } from './server.js';
export type { ProxyObserver, TableSource } from './observer.js';
export { Upstream } from './upstream.js';
export type { UpgradedConnection, UpstreamOptions } from './upstream.js';
export { choosePool } from './choose.js';
