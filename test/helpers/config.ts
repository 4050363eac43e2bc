export interface SeedBackendDoc {
  id: string;
  url: string;
  weight?: number;
}

/**
 * Config document for startTestTurnout with one service `web` on every host and path: outlier
 * detection off (so a test's deliberate failures eject nothing), connect timeout 1s, response 5s.
 * `extra` keys override the service's (split, timeouts, preserveHost…).
 */
export function webService(pools: Record<string, SeedBackendDoc[]>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools,
        outlier: false,
        timeouts: { connect: '1s', response: '5s' },
        ...extra,
      },
    },
  };
}
