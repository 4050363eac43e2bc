/**
 * Lets `ms` of real time pass: for a test that keeps traffic running for a while or lets a
 * deadline go by. To wait for something to happen, poll for it with `until` instead.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for a condition that a real event will make true (requests counted, a backend removed),
 * checking every `everyMs`; fails the test with `what` after `timeoutMs`.
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
