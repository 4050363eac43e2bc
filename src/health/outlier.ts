import type { OutlierSettings } from '../config/index.js';

/** Passive outlier bookkeeping for one backend. Pure; times are epoch ms passed in. */
export interface OutlierState {
  readonly consecutiveFailures: number;
  /** 0 when not ejected. */
  readonly ejectedUntil: number;
  /** Ejections in a row, for the doubling of `ejectFor`; reset once the backend stays well. */
  readonly ejections: number;
}

export const INITIAL_OUTLIER_STATE: OutlierState = { consecutiveFailures: 0, ejectedUntil: 0, ejections: 0 };

/** How long the n-th ejection in a row lasts: ejectFor doubled each time, capped at maxEjectFor. */
export function ejectDuration(settings: OutlierSettings, ejections: number): number {
  const d = settings.ejectForMs * 2 ** Math.max(0, ejections - 1);
  return Math.min(d, Math.max(settings.maxEjectForMs, settings.ejectForMs));
}

export function isEjected(state: OutlierState, nowMs: number): boolean {
  return state.ejectedUntil > nowMs;
}

/**
 * Records one request outcome. `mayEject` says whether the pool can spare one more ejected backend
 * (maxEjectedPercent). Returns `ejected: true` on the transition into ejection only.
 */
export function recordOutcome(
  state: OutlierState,
  ok: boolean,
  nowMs: number,
  settings: OutlierSettings,
  mayEject: boolean,
): { state: OutlierState; ejected: boolean } {
  if (isEjected(state, nowMs)) return { state, ejected: false }; // in-flight stragglers of an ejected backend
  if (ok) {
    // Stayed well for a whole base period since returning: forget earlier ejections.
    const ejections = state.ejections > 0 && nowMs >= state.ejectedUntil + settings.ejectForMs ? 0 : state.ejections;
    if (state.consecutiveFailures === 0 && ejections === state.ejections) return { state, ejected: false };
    return { state: { consecutiveFailures: 0, ejectedUntil: state.ejectedUntil, ejections }, ejected: false };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  if (consecutiveFailures >= settings.consecutiveFailures && mayEject) {
    const ejections = state.ejections + 1;
    return {
      state: { consecutiveFailures: 0, ejectedUntil: nowMs + ejectDuration(settings, ejections), ejections },
      ejected: true,
    };
  }
  return { state: { ...state, consecutiveFailures }, ejected: false };
}

/**
 * The ejection ended: the backend takes traffic again, one failure away from being ejected again
 * (a backend that still fails goes back out at once).
 */
export function onReturn(state: OutlierState, settings: OutlierSettings): OutlierState {
  return { consecutiveFailures: Math.max(0, settings.consecutiveFailures - 1), ejectedUntil: state.ejectedUntil, ejections: state.ejections };
}

/** How many backends of a pool of `size` may be ejected at once. */
export function maxEjected(size: number, maxEjectedPercent: number): number {
  return Math.floor((size * maxEjectedPercent) / 100 + 1e-9);
}
