import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The worker entry next to this module: `dist/process/worker-main.js` when turnout runs from its
 * build. Run from the TypeScript sources (the tests), workers still run the build, which
 * `npm test` makes first.
 */
export function workerScript(): string {
  const here = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../dist/process/worker-main.js', import.meta.url));
}
