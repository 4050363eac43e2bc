export { ProxyServer } from './server.js';
export { collectStartupGarbage } from './reclaim.js';
export type { ProxyServerOptions } from './server.js';
export type { ProxyObserver, TableSource } from './observer.js';
export type { HoldStats } from './hold.js';
export { Upstream } from './upstream.js';
export type { UpgradedConnection, UpstreamOptions } from './upstream.js';
export { choosePool } from './choose.js';
export { MirrorPool, MirrorTable } from './mirror.js';
export type { MirrorObserver, MirrorBackend } from './mirror.js';
export { MirrorDrop } from './mirror-copy.js';
export type { MirrorDropReason } from './mirror-copy.js';
export { RoutingTable, buildServiceTable, pathMatches, EMPTY_TABLE } from './table.js';
export type { ServiceTable, PoolTable } from './table.js';
export {
  GRPC_STATUS_NAMES,
  GRPC_STATUS_FOR,
  grpcStatusName,
  isGrpcError,
  parseGrpcStatus,
  grpcErrorHeaders,
  encodeGrpcMessage,
  decodeGrpcMessage,
  parseGrpcTimeout,
  formatGrpcTimeout,
  remainingGrpcTimeout,
  isGrpc,
} from './grpc.js';
export type { GrpcErrorHeaders } from './grpc.js';
