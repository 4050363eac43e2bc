import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Bytes of garbage Buffers between two young-generation collections (see BufferReclaimer). The dead
 * buffers are malloc'd memory until collected, and glibc's heap keeps the high-water mark of what
 * was in use at once: 64 KiB uploads at 2,500 req/s (bench:soak, workers 0, Node 24) left it at
 * 27-40 MiB with 16 MiB here and 18-27 MiB with 4 MiB, and took minor page faults from 0.3-1.0 to
 * 0.15-0.7 per upload, CPU per upload unchanged within the machine's noise (bench/README, soak).
 */
export const RECLAIM_EVERY_BYTES = 4 * 1024 * 1024;

export type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/**
 * Every read of a client socket gives a fresh Buffer (upstream sockets read into their own, see
 * upstream-conn.ts), and V8 frees them only when a collection runs; with a small JS heap that
 * waits until tens of MiB of dead buffers sit in the process, and then V8 runs full mark-compacts
 * for the external memory (on Node 24, 64 KiB uploads: one every ~23 MiB, 20-65 ms each, about
 * 100 µs per request on V8's threads). Counting the bytes read and asking for a young-generation
 * collection every `thresholdBytes` bounds that to about the threshold, at a cost of well under a
 * millisecond per collection. Small requests reach it once in tens of thousands.
 */
export class BufferReclaimer {
  private bytes = 0;
  private readonly threshold: number;
  private readonly gc: GcFunction | null;

  /** `gc`: what collects (tests); V8's own gc function by default, null where it cannot be had. */
  constructor(thresholdBytes: number, gc: GcFunction | null = exposeGc() ?? null) {
    this.threshold = thresholdBytes;
    this.gc = gc;
  }

  /** `n` body bytes went through. */
  add(n: number): void {
    this.bytes += n;
    if (this.bytes < this.threshold) return;
    this.bytes = 0;
    this.gc?.({ type: 'minor' });
  }
}

let cached: GcFunction | undefined | null = null;

/** V8's gc function without starting node with --expose-gc; undefined where it cannot be had. */
function exposeGc(): GcFunction | undefined {
  if (cached !== null) return cached;
  try {
    v8.setFlagsFromString('--expose-gc');
    cached = vm.runInNewContext('gc') as GcFunction;
  } catch {
    cached = undefined; // a runtime without it: buffers are freed by V8's own schedule
  }
  return cached;
}

/**
 * One full collection once start-up is done, before the process listens: loading the admin API,
 * the schemas and the first tables leaves about 10 MiB of garbage in the old generation, and V8
 * sets the size its next full collection waits for from what it finds there. Collected now, the
 * process starts from its live heap (about 23 MiB rather than 32 used) and its first connections
 * fill the freed pages: 10,000 idle connections in 133-140 MiB of RSS rather than 138-143
 * (workers: 0, Node 24, test/proxy/memory.test.ts). About 20 ms, once, before any request.
 */
export function collectStartupGarbage(): void {
  exposeGc()?.({ type: 'major', execution: 'sync' });
}
