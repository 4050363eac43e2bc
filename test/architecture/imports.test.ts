import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

/**
 * ARCHITECTURE.md: each folder of src/ offers itself to the others through its `index.ts`, and
 * the folders depend on each other in one direction. This walks every import in src/ (static,
 * type-only, re-exports and dynamic `import()`) and reports every violation at once.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');

/** One import, as paths from the repository root: `src/app.ts` → `src/admin/index.ts`. */
interface Edge {
  readonly from: string;
  readonly to: string;
}

interface Violation {
  readonly message: string;
  /** The imports that make it: an allow-list entry is needed only while it is one of them. */
  readonly edges: readonly Edge[];
}

/**
 * Imports allowed to break the rules below, each with its reason. Empty: every cross-folder
 * import goes through an index and nothing imports in a circle. An entry that no longer makes a
 * violation fails the test below, so the list cannot go stale.
 */
const ALLOWED: readonly (Edge & { readonly why: string })[] = [];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const rel = (path: string): string => relative(ROOT, path).split(sep).join('/');

/** Every relative import of every file in src/, resolved to the file it names. */
function importsInSrc(): { edges: Edge[]; unresolved: string[] } {
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const seen = new Set<string>();
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = join(dirname(file), fileName).replace(/\.js$/, '.ts');
      if (!existsSync(target)) {
        unresolved.push(`${rel(file)} imports ${fileName}, which is not a file in src/`);
        continue;
      }
      if (seen.has(target)) continue;
      seen.add(target);
      edges.push({ from: rel(file), to: rel(target) });
    }
  }
  return { edges, unresolved };
}

/** A file's folder under src/ (`runtime`), or the file itself for those at the top (`app.ts`). */
function moduleOf(path: string): string {
  return path.split('/')[1] as string;
}

const inFolder = (path: string): boolean => path.split('/').length > 2;

/** Strongly connected components with more than one node, or a node that imports itself (Tarjan). */
function cycles(nodes: Iterable<string>, next: (n: string) => readonly string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (n: string): void => {
    index.set(n, index.size);
    low.set(n, index.get(n) as number);
    stack.push(n);
    onStack.add(n);
    for (const m of next(n)) {
      if (!index.has(m)) {
        visit(m);
        low.set(n, Math.min(low.get(n) as number, low.get(m) as number));
      } else if (onStack.has(m)) {
        low.set(n, Math.min(low.get(n) as number, index.get(m) as number));
      }
    }
    if (low.get(n) !== index.get(n)) return;
    const scc: string[] = [];
    let m: string;
    do {
      m = stack.pop() as string;
      onStack.delete(m);
      scc.push(m);
    } while (m !== n);
    if (scc.length > 1 || next(n).includes(n)) out.push(scc.sort());
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return out;
}

const show = (e: Edge): string => `${e.from} → ${e.to}`;

/** Every violation of the two rules in a set of imports. */
function violations(edges: readonly Edge[]): Violation[] {
  const out: Violation[] = [];
  for (const e of edges) {
    const folder = moduleOf(e.to);
    if (moduleOf(e.from) !== folder && inFolder(e.to) && e.to !== `src/${folder}/index.ts`) {
      out.push({ message: `${e.from} imports ${e.to} past src/${folder}/index.ts`, edges: [e] });
    }
  }
  const byFile = new Map<string, string[]>();
  const byModule = new Map<string, Set<string>>();
  for (const e of edges) {
    byFile.set(e.from, [...(byFile.get(e.from) ?? []), e.to]);
    byFile.set(e.to, byFile.get(e.to) ?? []);
    const [a, b] = [moduleOf(e.from), moduleOf(e.to)];
    if (!byModule.has(a)) byModule.set(a, new Set());
    if (!byModule.has(b)) byModule.set(b, new Set());
    if (a !== b) byModule.get(a)?.add(b);
  }
  for (const scc of cycles(byModule.keys(), (m) => [...(byModule.get(m) ?? [])])) {
    const inside = edges.filter((e) => moduleOf(e.from) !== moduleOf(e.to) && scc.includes(moduleOf(e.from)) && scc.includes(moduleOf(e.to)));
    out.push({ message: `import cycle between folders ${scc.join(' ⇄ ')}: ${inside.map(show).join(', ')}`, edges: inside });
  }
  for (const scc of cycles(byFile.keys(), (f) => byFile.get(f) ?? [])) {
    const inside = edges.filter((e) => scc.includes(e.from) && scc.includes(e.to));
    out.push({ message: `import cycle between files ${scc.join(' ⇄ ')}: ${inside.map(show).join(', ')}`, edges: inside });
  }
  return out;
}

const same = (a: Edge, b: Edge): boolean => a.from === b.from && a.to === b.to;

describe('imports in src/', () => {
  const { edges, unresolved } = importsInSrc();
  const checked = edges.filter((e) => !ALLOWED.some((a) => same(a, e)));

  test('every relative import names a file in src/ (the walk sees them all)', () => {
    expect(unresolved).toEqual([]);
    expect(edges).toContainEqual({ from: 'src/cli/main.ts', to: 'src/cli/serve.ts' }); // a dynamic import()
    expect(edges).toContainEqual({ from: 'src/cli/serve.ts', to: 'src/app.ts' }); // a type-only import
    expect(edges.length).toBeGreaterThan(100);
  });

  test('no import cycle between folders or files, and every cross-folder import goes through the folder index.ts', () => {
    expect(violations(checked).map((v) => v.message)).toEqual([]);
  });

  test('every allow-list entry is still needed (remove the ones that are not)', () => {
    const stale = ALLOWED.filter((a) => {
      if (!edges.some((e) => same(e, a))) return true;
      return !violations([...checked, a]).some((v) => v.edges.some((e) => same(e, a)));
    });
    expect(stale.map(show)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const e = (from: string, to: string): Edge => ({ from: `src/${from}`, to: `src/${to}` });
  test.each([
    ['through the index, one direction', [e('a/x.ts', 'b/index.ts'), e('b/index.ts', 'b/y.ts')], []],
    ['inside a folder', [e('a/x.ts', 'a/y.ts')], []],
    ['a top-level file needs no index', [e('a/x.ts', 'errors.ts')], []],
    ['past the index', [e('a/x.ts', 'b/y.ts')], ['src/a/x.ts imports src/b/y.ts past src/b/index.ts']],
    [
      'folders that import each other',
      [e('a/x.ts', 'b/index.ts'), e('b/y.ts', 'a/index.ts')],
      ['import cycle between folders a ⇄ b: src/a/x.ts → src/b/index.ts, src/b/y.ts → src/a/index.ts'],
    ],
    [
      'files that import each other',
      [e('a/x.ts', 'a/y.ts'), e('a/y.ts', 'a/x.ts')],
      ['import cycle between files src/a/x.ts ⇄ src/a/y.ts: src/a/x.ts → src/a/y.ts, src/a/y.ts → src/a/x.ts'],
    ],
  ])('%s', (_name, given, expected) => {
    expect(violations(given).map((v) => v.message)).toEqual(expected);
  });
});
