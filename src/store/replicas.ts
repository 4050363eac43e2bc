/** Pure parts of durable writes: reading INFO replication and judging a WAIT answer. */

/** `connected_slaves:N` from `INFO replication` (0 when absent, as on a replica or an old server). */
export function connectedReplicas(info: string): number {
  const m = /^connected_slaves:(\d+)\r?$/m.exec(info);
  return m === null ? 0 : Number(m[1]);
}

/**
 * What a `WAIT 1 <timeoutMs>` answer means for the write of `revision`: undefined when a replica
 * has it, else the message of the 503 (the write stands on the primary and may survive; the
 * revision the store answers next tells).
 */
export function replicaWaitOutcome(acked: number, revision: number, timeoutMs: number): string | undefined {
  if (Number.isFinite(acked) && acked >= 1) return undefined;
  return `revision ${revision} was written but no replica confirmed it within ${timeoutMs}ms: the write may stand; the revision tells`;
}
