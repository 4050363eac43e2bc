/**
 * Rapid reset (CVE-2023-44487): a client that opens streams and resets them at once costs the
 * proxy a request each while never waiting for an answer. A session has a token bucket of
 * aborted streams: `burst` at first, refilled at `ratePerSec`; a stream that ends before its
 * answer spends one, and an empty bucket means the session is closed with GOAWAY
 * ENHANCE_YOUR_CALM. Set below nghttp2's own limit (streamResetBurst/Rate), which would end the
 * session with INTERNAL_ERROR instead. Pure: time comes in.
 */
export interface ResetBudget {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
}

export interface ResetLimits {
  readonly burst: number;
  readonly ratePerSec: number;
}

export function newResetBudget(limits: ResetLimits, now: number): ResetBudget {
  return { tokens: limits.burst, at: now };
}

/** Spends one token for an aborted stream; false when the bucket was already empty (close the session). */
export function spendReset(b: ResetBudget, limits: ResetLimits, now: number): boolean {
  if (now > b.at) {
    b.tokens = Math.min(limits.burst, b.tokens + ((now - b.at) * limits.ratePerSec) / 1000);
    b.at = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}
