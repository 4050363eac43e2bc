import { createRequire } from 'node:module';
import type * as Http from 'node:http';

/**
 * node:http's reason phrases, taken with `require`: an ESM import of node:http makes Node 24
 * evaluate every export of the module, and its WebSocket getters load Node's bundled undici
 * (about 2 MiB of heap and 11 MiB of RSS measured, bench/README "Memory breakdown") into a process
 * that never uses it.
 */
export const STATUS_CODES: Readonly<Record<number, string | undefined>> = (createRequire(import.meta.url)('node:http') as typeof Http).STATUS_CODES;
