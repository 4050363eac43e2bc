export { ProxyServer, choosePool } from './server.js';
export type { ProxyServerOptions, TableSource } from './server.js';
export { Upstream, closeUpgraded } from './upstream.js';
export type { UpgradedConnection, UpstreamOptions } from './upstream.js';
export type { ProxyObserver } from './exchange.js';
export { upstreamRequestHeaders, downstreamResponseHeaders, hostOf } from './headers.js';
