/**
 * Lets `ms` of real time pass: for a test that keeps traffic running for a while or lets a
 * deadline go by. To wait for something to happen, poll for it (`until` in admin.ts) instead.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
