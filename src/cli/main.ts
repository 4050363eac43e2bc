import { readFileSync } from 'node:fs';
import { ApiError } from './client.js';
import { UsageError, parse } from './command.js';
import type { Command } from './command.js';
import { CLIENT_COMMANDS } from './commands.js';

/**
 * `turnout serve`, the default command: `turnout`, `turnout -c FILE` and `turnout --config FILE`
 * run the proxy. Its options are its own; it takes no client option.
 */
const SERVE: Command = {
  name: 'serve',
  usage:
    'turnout [serve] [-c|--config FILE] [--workers N|auto|0] [--reset-state]\n' +
    '                                                    run the proxy (default config: ./turnout.yaml)',
  async execute(argv, help) {
    const options = { config: { type: 'string', short: 'c' }, workers: { type: 'string' }, 'reset-state': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
    const { values } = parse(argv, options, false);
    if (values.help) {
      process.stdout.write(help());
      return 0;
    }
    // Loaded only here: the proxy's dependencies cost client commands about a second of start-up.
    const { serve } = await import('./serve.js');
    let workers: number | 'auto' | undefined;
    if (values.workers !== undefined) {
      workers = values.workers === 'auto' ? 'auto' : Number(values.workers);
      if (workers !== 'auto' && (!Number.isInteger(workers) || workers < 0 || workers > 256)) throw new UsageError(`--workers must be a whole number from 0 to 256, or auto; got "${values.workers}"`);
    }
    return serve({ configFile: values.config ?? process.env.TURNOUT_CONFIG ?? 'turnout.yaml', resetState: values['reset-state'] ?? false, ...(workers !== undefined ? { workers } : {}) });
  },
};

const COMMANDS: readonly Command[] = [SERVE, ...CLIENT_COMMANDS];

const usage = (): string => `turnout — reverse proxy and traffic switch for zero-downtime deploys

Usage:
${COMMANDS.map((c) => `  ${c.usage.replace(/\n/g, '\n  ')}`).join('\n')}
  turnout --version                                   the version of turnout

Client options (or TURNOUT_ADMIN_URL, TURNOUT_ADMIN_TOKEN):
  --admin URL      admin API (default http://127.0.0.1:9901)
  --token TOKEN    bearer token
  --actor NAME     recorded in history (X-Turnout-Actor)
  --json           print the API's answer as it is
  --dry-run        validate and show the result, change nothing
  --force          allow a share for a pool with no eligible backend

Exit codes: 0 success, 1 refused or failed call, 2 bad usage.
`;

/** The version in package.json (two levels up from src/cli and from dist/cli alike). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Runs one command line; resolves with the exit code (0 success, 1 refused or failed call, 2 bad usage). */
export async function main(argv: readonly string[]): Promise<number> {
  const first = argv[0];
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (first === '--version' || first === 'version') {
    process.stdout.write(`turnout ${version()}\n`);
    return 0;
  }
  // No command name, only options: serve is the default command.
  const named = first !== undefined && !first.startsWith('-');
  const command = named ? COMMANDS.find((c) => c.name === first) : SERVE;
  try {
    if (command === undefined) throw new UsageError(`unknown command "${first}"`);
    return await command.execute(named ? argv.slice(1) : argv, usage);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`turnout: ${err.message}\nRun "turnout --help" for usage.\n`);
      return 2;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`turnout: ${err.status > 0 ? `${err.status} ${err.code}: ` : ''}${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
