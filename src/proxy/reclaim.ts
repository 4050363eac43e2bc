import v8 from 'node:v8';
import vm from 'node:vm';

type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/**
 * Every socket read gives a fresh Buffer, and V8 frees them only when a collection runs; with a
 * small JS heap that waits until tens of MiB of dead buffers sit in the process. Streaming a large
 * body would then cost its RSS in dead read buffers. Counting the body bytes relayed and asking
 * for a young-generation collection every `thresholdBytes` bounds that to about the threshold, at
 * a cost of well under a millisecond per collection. Requests with small bodies never reach it.
 */
export class BufferReclaimer {
  private bytes = 0;
  private readonly threshold: number;
  private readonly gc: GcFunction | undefined;

  constructor(thresholdBytes: number) {
    this.threshold = thresholdBytes;
    this.gc = exposeGc();
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
