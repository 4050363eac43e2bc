import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

// STYLE / issue 16: every file in src/ stays within 300 lines (a longer one is split by job).

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LINES = 300;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(path));
    else if (/\.(ts|tsx|mts)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Lines as `wc -l` counts them, plus a last line without its newline. */
const lineCount = (text: string): number => (text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0));

describe('file size', () => {
  test('the line count matches wc -l', () => {
    expect([lineCount(''), lineCount('a\n'), lineCount('a\nb'), lineCount('a\nb\n')]).toEqual([0, 1, 2, 2]);
  });

  test(`no file in src/ is over ${MAX_LINES} lines`, () => {
    const all = files(join(ROOT, 'src'));
    expect(all.length).toBeGreaterThan(50);
    const over = all.map((f) => ({ file: relative(ROOT, f), lines: lineCount(readFileSync(f, 'utf8')) })).filter((f) => f.lines > MAX_LINES);
    expect(over).toEqual([]);
  });
});
