import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { parseDuration } from '../util/index.js';
import { AdminClient } from './client.js';

/** Bad usage: the CLI prints the message and a pointer to --help, and exits 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every client command takes. */
const CLIENT_OPTIONS = {
  admin: { type: 'string' },
  token: { type: 'string' },
  actor: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** The options of a command that changes state. */
export const WRITE_OPTIONS = { 'dry-run': { type: 'boolean' }, force: { type: 'boolean' } } as const satisfies Options;

type Values<O extends Options> = { readonly [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean };

type Required<N extends string> = N extends `${string}?` ? never : N;
type Optional<N extends string> = N extends `${infer B}?` ? B : never;
/** Positional arguments by name; a name ending in `?` may be left out (it must come last). */
type Positionals<P extends readonly string[]> = { readonly [K in Required<P[number]>]: string } & { readonly [K in Optional<P[number]>]?: string };

export interface CommandArgs<P extends readonly string[], O extends Options> {
  readonly positionals: Positionals<P>;
  readonly values: Values<O & typeof CLIENT_OPTIONS>;
  readonly client: AdminClient;
  /** The admin API's base URL and token, for a command that opens its own connection (a stream). */
  readonly admin: { readonly url: string; readonly token: string | undefined };
}

/** What a command's run gives back: the API's answer to print, or the exit code of a command that printed as it went. */
export type Outcome<T> = { readonly answer: T } | { readonly exitCode: number };

export interface CommandSpec<P extends readonly string[], O extends Options, T> {
  readonly name: string;
  /** Its lines in `turnout --help`; main indents every line by two more. */
  readonly usage: string;
  readonly positionals: P;
  /** Options beyond --admin, --token, --actor, --json and --help. */
  readonly options: O;
  /** Checks the arguments (a UsageError when they are wrong) and calls the admin API. */
  run(args: CommandArgs<P, O>): Promise<Outcome<T>>;
  /**
   * The answer in words; --json prints it as the API gave it. Absent for a command that prints as
   * it goes (its run gives exit codes only).
   */
  format?(answer: T, args: CommandArgs<P, O>): string;
}

/** A command of the table with its types erased: what main() dispatches to. */
export interface Command {
  readonly name: string;
  readonly usage: string;
  /** Parses the arguments after the command's name, runs it and prints; resolves with the exit code. */
  execute(argv: readonly string[], help: () => string): Promise<number>;
}

/** Parses with node:util's parseArgs (strict); its messages become usage errors. */
export function parse<O extends Options>(argv: readonly string[], options: O, allowPositionals: boolean): { values: Values<O>; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...argv], options, allowPositionals, strict: true });
    return { values: r.values as Values<O>, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function namePositionals(command: string, names: readonly string[], given: readonly string[]): Record<string, string> {
  const required = names.filter((n) => !n.endsWith('?')).length;
  if (given.length < required || given.length > names.length) {
    const shown = names.map((n) => (n.endsWith('?') ? `[${n.slice(0, -1)}]` : n)).join(' ');
    throw new UsageError(`${command} takes ${shown}${given.length > names.length ? `; unexpected "${given[names.length]}"` : ''}`);
  }
  const out: Record<string, string> = {};
  given.forEach((v, i) => (out[(names[i] as string).replace(/\?$/, '')] = v));
  return out;
}

export function defineCommand<const P extends readonly string[], const O extends Options, T>(spec: CommandSpec<P, O, T>): Command {
  return {
    name: spec.name,
    usage: spec.usage,
    async execute(argv, help) {
      const parsed = parse(argv, { ...CLIENT_OPTIONS, ...spec.options }, true);
      const values = parsed.values as Values<typeof CLIENT_OPTIONS>;
      if (values.help) {
        process.stdout.write(help());
        return 0;
      }
      const url = values.admin ?? process.env.TURNOUT_ADMIN_URL ?? 'http://127.0.0.1:9901';
      const token = values.token ?? process.env.TURNOUT_ADMIN_TOKEN;
      const args: CommandArgs<P, O> = {
        positionals: namePositionals(spec.name, spec.positionals, parsed.positionals) as Positionals<P>,
        values: parsed.values as Values<O & typeof CLIENT_OPTIONS>,
        client: new AdminClient({ baseUrl: url, token, actor: values.actor ?? process.env.TURNOUT_ACTOR }),
        admin: { url, token },
      };
      const outcome = await spec.run(args);
      if ('exitCode' in outcome) return outcome.exitCode;
      const text = values.json || spec.format === undefined ? JSON.stringify(outcome.answer, null, 2) : spec.format(outcome.answer, args);
      process.stdout.write(`${text}\n`);
      return 0;
    },
  };
}

/** `?dryRun=true&force=true` from --dry-run and --force, with `extra` parameters that are set. */
export function writeQuery(values: { readonly 'dry-run'?: boolean; readonly force?: boolean }, extra: Record<string, string | undefined> = {}): string {
  const p = new URLSearchParams();
  if (values['dry-run']) p.set('dryRun', 'true');
  if (values.force) p.set('force', 'true');
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) p.set(k, v);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

/** A whole number from an option, within bounds, or a usage error that names the option. */
export function wholeNumber(option: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER, what = `a whole number >= ${min}`): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${option} must be ${what}, got "${text}"`);
  return n;
}

/** A duration like 30s from an option (checked, passed on as written), or a usage error. */
export function duration(option: string, text: string, example: string): string {
  if (parseDuration(text) === undefined) throw new UsageError(`${option} must be a duration like ${example}, got "${text}"`);
  return text;
}
