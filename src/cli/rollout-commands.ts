import { readFile } from 'node:fs/promises';
import { UsageError, defineCommand, writeQuery } from './command.js';
import type { Command } from './command.js';

const enc = encodeURIComponent;

interface ActionAnswer {
  readonly revision: number;
  readonly rollout: { readonly state: string; readonly step: number; readonly percent: number; readonly reason?: string };
}

const act = (name: 'rollout-resume' | 'rollout-abort', action: 'resume' | 'abort', usage: string): Command =>
  defineCommand({
    name,
    usage,
    positionals: ['SVC'],
    options: { 'dry-run': { type: 'boolean' } },
    async run({ positionals, values, client }) {
      const path = `/v1/services/${enc(positionals.SVC)}/rollouts/current/${action}${writeQuery(values, {})}`;
      return { answer: (await client.call<ActionAnswer>('POST', path)).body };
    },
    format: (a, args) =>
      `${args.values['dry-run'] ? '(dry run) ' : ''}${args.positionals.SVC}: rollout ${a.rollout.state.replace('_', ' ')} at step ${a.rollout.step} (${a.rollout.percent}%)` +
      `${a.rollout.reason !== undefined && a.rollout.state !== 'running' ? `: ${a.rollout.reason}` : ''} (revision ${a.revision})`,
  });

/** Steering a rollout from the shell: go on past a pause (a manual gate), or abort it. */
export const ROLLOUT_COMMANDS: readonly Command[] = [
  act('rollout-resume', 'resume', 'turnout rollout-resume SVC                          go on past a pause step (a manual gate) or a pause'),
  act('rollout-abort', 'abort', 'turnout rollout-abort SVC                           abort the rollout: all traffic back to the stable pool'),
];

/** `turnout rollout SVC POOL --file F`: the start body as JSON (its `pool` is the POOL argument). */
export async function readRolloutFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UsageError(`--file: ${path} is not JSON`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UsageError(`--file: ${path} must hold a JSON object (the rollout body)`);
  return body as Record<string, unknown>;
}
