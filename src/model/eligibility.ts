import type { AdminState, Health } from './types.js';

/** What this instance knows about a backend beyond its stored record (health checks, outlier detection). */
export interface LocalFacts {
  readonly health: Health;
  /** The backend's service has an active health check. */
  readonly checked: boolean;
  /** Ejected by outlier detection right now. */
  readonly ejected: boolean;
}

/** The stored part (admin state, weight) and the local part of what decides eligibility. */
export interface EligibilityFacts extends LocalFacts {
  readonly state: AdminState;
  readonly weight: number;
}

/** Health as far as taking traffic goes: healthy, or not unhealthy when the service has no health check. */
export function healthAllows(health: Health, checked: boolean): boolean {
  return checked ? health === 'healthy' : health !== 'unhealthy';
}

/**
 * SPEC "Words": a backend takes new requests only when `active`, weight > 0, healthy (or unknown
 * when its service has no health check), and not ejected. The one place this rule is written: the
 * routing table, the admin views and the 409 rule on splits all ask it.
 */
export function isEligible(f: EligibilityFacts): boolean {
  return f.state === 'active' && f.weight > 0 && healthAllows(f.health, f.checked) && !f.ejected;
}
