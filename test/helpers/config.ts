export interface SeedBackendDoc {
  readonly id: string;
  readonly url: string;
  readonly weight?: number;
}

/**
 * Config document for startTestTurnout with one service `web` on every host and path: outlier
 * detection off (so a test's deliberate failures eject nothing), connect timeout 1s, response 5s.
 * `extra` keys override the service's (split, timeouts, preserveHost…). A pool's backends may be
 * test backends: only their id, url and weight go into the config.
 */
export function webService(pools: Record<string, readonly SeedBackendDoc[]>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: Object.fromEntries(
          Object.entries(pools).map(([pool, backends]) => [pool, backends.map((b) => ({ id: b.id, url: b.url, ...(b.weight !== undefined ? { weight: b.weight } : {}) }))]),
        ),
        outlier: false,
        timeouts: { connect: '1s', response: '5s' },
        ...extra,
      },
    },
  };
}
