/**
 * Config mistakes shared by the unit table (parse-config.test.ts) and the `turnout serve` table
 * (bad-config.test.ts): each one breaks an otherwise valid config in one place.
 */

export interface ConfigDoc {
  listen: Record<string, unknown>;
  admin: Record<string, unknown>;
  state: Record<string, unknown>;
  log: Record<string, unknown>;
  services?: Record<string, any>;
  [key: string]: unknown;
}

/** A valid config on the given ports with a memory store: blue has one backend, green none. */
export function validDoc(listenPort: number, adminPort: number): ConfigDoc {
  return {
    listen: { host: '127.0.0.1', port: listenPort },
    admin: { host: '127.0.0.1', port: adminPort },
    state: { store: 'memory' },
    log: { level: 'silent' },
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { blue: [{ id: 'blue-1', url: 'http://127.0.0.1:3001' }], green: [] },
        split: { blue: 100, green: 0 },
      },
    },
  };
}

export interface Mistake {
  readonly name: string;
  /** Breaks a valid document in place. */
  readonly mutate?: (doc: ConfigDoc) => void;
  /** Or: the whole file text. */
  readonly text?: string;
  readonly env?: Record<string, string>;
  /** The key path the problem must start with (`<path>: …`); undefined when the file does not parse. */
  readonly path: string | undefined;
  /** What was expected (and, where useful, what was found). */
  readonly expected: RegExp;
}

const web = (d: ConfigDoc): Record<string, any> => d.services?.web as Record<string, any>;

export const MISTAKES: readonly Mistake[] = [
  {
    name: 'unknown top-level key',
    mutate: (d) => {
      d.colour = 'blue';
    },
    path: 'colour',
    expected: /unknown key \(expected one of: listen, admin, state, log, workers, shutdown, rollouts, services\)/,
  },
  {
    name: 'unknown nested key',
    mutate: (d) => {
      web(d).pools.blue[0].colour = 'blue';
    },
    path: 'services.web.pools.blue[0].colour',
    expected: /unknown key \(expected one of: id, url, weight\)/,
  },
  {
    name: 'wrong type',
    mutate: (d) => {
      d.listen.port = 'abc';
    },
    path: 'listen.port',
    expected: /Expected integer, got "abc"/,
  },
  {
    name: 'wrong type from an environment variable',
    mutate: (d) => {
      d.listen.port = '${TURNOUT_TEST_PORT}';
    },
    env: { TURNOUT_TEST_PORT: 'abc' },
    path: 'listen.port',
    expected: /Expected integer, got "abc"/,
  },
  {
    name: 'bad duration',
    mutate: (d) => {
      web(d).healthCheck = { path: '/health', interval: '5 parsecs' };
    },
    path: 'services.web.healthCheck.interval',
    expected: /expected duration such as "500ms", "2s", "1m"\), got "5 parsecs"/,
  },
  {
    name: 'backend URL with another scheme',
    mutate: (d) => {
      web(d).pools.blue[0].url = 'ftp://x';
    },
    path: 'services.web.pools.blue[0].url',
    expected: /expected http:\/\/host:port or https:\/\/host:port\), got "ftp:\/\/x"/,
  },
  {
    name: 'backend URL that is not a URL',
    mutate: (d) => {
      web(d).pools.blue[0].url = 'not a url';
    },
    path: 'services.web.pools.blue[0].url',
    expected: /expected http:\/\/host:port or https:\/\/host:port\), got "not a url"/,
  },
  {
    name: 'weight out of range',
    mutate: (d) => {
      web(d).pools.blue[0].weight = 1001;
    },
    path: 'services.web.pools.blue[0].weight',
    expected: /expected weight 0\.\.1000/,
  },
  {
    name: 'split not summing to 100',
    mutate: (d) => {
      web(d).split = { blue: 60, green: 30 };
    },
    path: 'services.web.split',
    expected: /percentages must sum to 100, got 90/,
  },
  {
    name: 'unknown pool in split',
    mutate: (d) => {
      web(d).split = { blue: 100, red: 0 };
    },
    path: 'services.web.split.red',
    expected: /unknown pool "red" \(pools: blue, green\)/,
  },
  {
    name: 'more than 8 pools',
    mutate: (d) => {
      web(d).pools = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`p${i}`, []]));
      delete web(d).split;
    },
    path: 'services.web.pools',
    expected: /expected 1\.\.8 pools, got 9/,
  },
  {
    name: 'pool name that is not a name',
    mutate: (d) => {
      web(d).pools = { 'blue pool': [{ id: 'blue-1', url: 'http://127.0.0.1:3001' }] };
      delete web(d).split;
    },
    path: 'services.web.pools.blue pool',
    expected: /not a valid name \(expected name: letters, digits, _ \. -\)/,
  },
  {
    name: 'duplicate backend id',
    mutate: (d) => {
      web(d).pools.green = [{ id: 'blue-1', url: 'http://127.0.0.1:3002' }];
    },
    path: 'services.web.pools.green[0].id',
    expected: /duplicate backend id "blue-1" in service web/,
  },
  {
    name: 'missing services',
    mutate: (d) => {
      delete d.services;
    },
    path: 'services',
    expected: /required key is missing \(expected a mapping of service names to services\)/,
  },
  {
    name: 'no services',
    mutate: (d) => {
      d.services = {};
    },
    path: 'services',
    expected: /expected at least one service/,
  },
  {
    name: 'YAML syntax error',
    text: 'listen: { port: 8080 }\nservices:\n  web: [\n',
    path: undefined,
    expected: /not valid YAML or JSON: .*at line \d+, column \d+/,
  },
  {
    name: 'unset environment variable',
    mutate: (d) => {
      d.admin.token = '${TURNOUT_TEST_UNSET_TOKEN}';
    },
    path: 'admin.token',
    expected: /environment variable TURNOUT_TEST_UNSET_TOKEN is not set/,
  },
];
