import type { Dispatcher } from 'undici';

/**
 * Reads the `snapshot` events of an SSE body (`GET /v1/stream`) until `take` returns true for
 * one, or `maxMs` passes; then closes the body. Resolves with the snapshots read.
 */
export async function readSnapshots<T>(body: Dispatcher.ResponseData['body'], take: (snapshot: T, all: readonly T[]) => boolean, maxMs: number): Promise<T[]> {
  const out: T[] = [];
  let buf = '';
  const deadline = Date.now() + maxMs;
  try {
    for await (const chunk of body) {
      buf += (chunk as Buffer).toString();
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (!block.includes('event: snapshot') || data === undefined) continue;
        const snap = JSON.parse(data.slice(6)) as T;
        out.push(snap);
        if (take(snap, out)) return out;
      }
      if (Date.now() > deadline) return out;
    }
    return out;
  } finally {
    body.destroy();
  }
}
