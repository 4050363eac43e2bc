export { H2Front, sessionOptions } from './front.js';
export type { H2Host } from './front.js';
export { PREFACE, Sniff, sniffPreface, prefaceRead } from './preface.js';
export { StreamSocket } from './stream-socket.js';
export { H2SessionPool } from './upstream-pool.js';
export { H2UpstreamSocket } from './upstream-stream.js';
