// The soak's memory breakdown of a process tree (turnout's supervisor and workers), per phase:
// where the RSS is, from two sources read at the phase's end.
//
// - /proc/PID/smaps, per mapping: `file` (RSS of file-backed mappings: node's binary and shared
//   libraries, mostly code; it grows as code is first run and is not what a leak looks like),
//   `anon` (anonymous RSS: everything the process allocated), and of that `brk` (the [heap]
//   mapping: glibc's main arena, where the event loop thread's malloc() lands below the mmap
//   threshold, socket read buffers and Buffers' backing stores among them) and `hugePages`
//   (AnonHugePages, transparent huge pages).
// - bench/mem-probe.mjs, loaded into each process with NODE_OPTIONS: process.memoryUsage() and V8's
//   heap statistics. `v8` is V8's committed heap (total_physical_size), `newSpace` its young
//   generation (the semi-spaces, which grow under load up to --max-semi-space-size and shrink
//   when idle), `arrayBuffers` the backing stores of Buffers and ArrayBuffers (malloc'd, outside
//   V8's heap), `external` the rest of the memory V8 is told about (external strings, zlib, ...).
//
// `mmap` = anon - brk: every other anonymous mapping: V8's pages (256 KiB each), thread stacks,
// glibc's other arenas and its mmap'd chunks (>= 128 KiB).
//
// What is left, `native` = anon - v8 - external - arrayBuffers, is memory no JS figure counts:
// Node's and libuv's own objects (a socket's handle, its write requests), OpenSSL, V8's compiler
// zones, thread stacks, memory glibc keeps after free() (freed chunks inside the arenas that it
// does not hand back to the kernel), and pages V8 still holds but no longer counts: when the young
// generation shrinks (new space 32 -> 3 MiB after an upload phase), V8's figure drops at once but
// anon does not, and when it grows again anon does not follow (the pages are pooled for reuse).
// So `native` jumps when new space shrinks; `brk` is the allocator's own figure.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processTree } from './lib.mjs';

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'mem-probe.mjs');
const MiB = 2 ** 20;

/**
 * Environment that loads the probe into turnout's processes, their lines going to `dir`.
 * `base` is the rest of turnout's env: a NODE_OPTIONS there is kept, the probe appended.
 */
export function probeEnv(dir, base = {}, intervalMs = 1000) {
  mkdirSync(dir, { recursive: true });
  const opts = [base.NODE_OPTIONS ?? '', `--import=${PROBE}`].filter((s) => s !== '').join(' ');
  return { ...base, NODE_OPTIONS: opts, SOAK_MEM_DIR: dir, SOAK_MEM_INTERVAL_MS: String(intervalMs) };
}

/** RSS by kind of mapping, in bytes, from /proc/PID/smaps; undefined when the process is gone. */
export function smapsOf(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const out = { rss: 0, anon: 0, brk: 0, hugePages: 0 };
  let isHeap = false;
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      isHeap = line.endsWith('[heap]');
      continue;
    }
    const m = /^(Rss|Anonymous|AnonHugePages):\s+(\d+) kB/.exec(line);
    if (m === null) continue;
    const bytes = Number(m[2]) * 1024;
    if (m[1] === 'Rss') out.rss += bytes;
    else if (m[1] === 'AnonHugePages') out.hugePages += bytes;
    else {
      out.anon += bytes;
      if (isHeap) out.brk += bytes;
    }
  }
  return out;
}

/** The probe's last line for `pid` (undefined when it wrote none). */
export function lastProbe(dir, pid) {
  const file = path.join(dir, `mem-${pid}.jsonl`);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const end = text.lastIndexOf('\n', text.length - 2);
  try {
    return JSON.parse(text.slice(end + 1));
  } catch {
    return undefined;
  }
}

/**
 * The breakdown of `pid`'s tree, in MiB (see the top of this file), summed over its processes
 * (file pages they share count in each). Fields the probe gives are undefined when no process of
 * the tree wrote a line (a tree without the probe, e.g. nginx). `perProcess`: with a `processes`
 * list when the tree has more than one (turnout's supervisor and workers apart).
 */
export function memBreakdown(pid, dir, { perProcess = false } = {}) {
  const sum = { rss: 0, file: 0, anon: 0, brk: 0, hugePages: 0 };
  const js = { v8: 0, newSpace: 0, oldSpace: 0, largeObjects: 0, external: 0, arrayBuffers: 0, heapUsed: 0 };
  const processes = [];
  let probed = 0;
  for (const p of processTree(pid)) {
    const s = smapsOf(p);
    if (s === undefined) continue;
    sum.rss += s.rss;
    sum.file += s.rss - s.anon;
    sum.anon += s.anon;
    sum.brk += s.brk;
    sum.hugePages += s.hugePages;
    const line = dir === undefined ? undefined : lastProbe(dir, p);
    if (perProcess) {
      const r = (b) => Math.round((b / MiB) * 10) / 10;
      processes.push({ pid: p, role: line?.role, rssMiB: r(s.rss), anonMiB: r(s.anon), brkMiB: r(s.brk), v8MiB: line && r(line.v8Physical), newSpaceMiB: line && r(line.spaces?.new_space?.physical ?? 0), arrayBuffersMiB: line && r(line.arrayBuffers) });
    }
    if (line === undefined) continue;
    probed++;
    const sp = line.spaces ?? {};
    js.v8 += line.v8Physical;
    js.newSpace += sp.new_space?.physical ?? 0;
    js.oldSpace += sp.old_space?.physical ?? 0;
    js.largeObjects += (sp.large_object_space?.physical ?? 0) + (sp.new_large_object_space?.physical ?? 0);
    js.external += line.external - line.arrayBuffers;
    js.arrayBuffers += line.arrayBuffers;
    js.heapUsed += line.heapUsed;
  }
  const mib = (b) => b / MiB;
  const out = { rssMiB: mib(sum.rss), fileMiB: mib(sum.file), anonMiB: mib(sum.anon), brkMiB: mib(sum.brk), mmapMiB: mib(sum.anon - sum.brk), hugePagesMiB: mib(sum.hugePages) };
  if (processes.length > 1) out.processes = processes;
  if (probed === 0) return out;
  return {
    ...out,
    v8MiB: mib(js.v8),
    newSpaceMiB: mib(js.newSpace),
    oldSpaceMiB: mib(js.oldSpace),
    largeObjectsMiB: mib(js.largeObjects),
    heapUsedMiB: mib(js.heapUsed),
    externalMiB: mib(js.external),
    arrayBuffersMiB: mib(js.arrayBuffers),
    nativeMiB: mib(sum.anon - js.v8 - js.external - js.arrayBuffers),
  };
}

// --- the memory plot: the breakdown over the run (the bench's samples), upload phases shaded ----

const LINES = [
  ['turnout', 'rssMiB', 'turnout RSS', '#d62728', ''],
  ['turnout', 'v8MiB', 'turnout V8 heap', '#ff7f0e', '6 3'],
  ['turnout', 'newSpaceMiB', 'turnout new space', '#bcbd22', '2 3'],
  ['turnout', 'brkMiB', 'turnout brk (malloc)', '#2ca02c', '6 3'],
  ['turnout', 'nativeMiB', 'turnout native', '#9467bd', '2 3'],
  ['turnout', 'arrayBuffersMiB', 'turnout arrayBuffers', '#7f7f7f', '2 3'],
  ['nginx', 'rssMiB', 'nginx RSS', '#1f77b4', ''],
];

export function soakMemSvg(series, phases, title) {
  const W = 900;
  const H = 440;
  const m = { l: 60, r: 190, t: 40, b: 45 };
  const maxX = Math.max(1, ...series.map((p) => p.s), ...phases.map((p) => p.endS));
  const maxY = Math.max(1, ...series.map((p) => p.rssMiB)) * 1.1;
  const x = (s) => m.l + (s / maxX) * (W - m.l - m.r);
  const y = (v) => H - m.b - (v / maxY) * (H - m.t - m.b);
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="22" font-size="14">${esc(title)}</text>`,
  ];
  for (const p of phases.filter((q) => q.kind === 'upload' && q.target === 'turnout')) {
    parts.push(`<rect x="${x(p.startS).toFixed(1)}" y="${m.t}" width="${(x(p.endS) - x(p.startS)).toFixed(1)}" height="${H - m.t - m.b}" fill="#f3e6e6"/>`);
  }
  parts.push(
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">seconds since start (shaded: turnout's upload phases)</text>`,
    `<text x="14" y="${(m.t + H - m.b) / 2}" transform="rotate(-90 14 ${(m.t + H - m.b) / 2})" text-anchor="middle">MiB</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const v = (maxY / 5) * i;
    parts.push(`<line x1="${m.l - 4}" y1="${y(v)}" x2="${W - m.r}" y2="${y(v)}" stroke="#ddd"/>`, `<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`);
    const s = (maxX / 5) * i;
    parts.push(`<text x="${x(s)}" y="${H - m.b + 16}" text-anchor="middle">${Math.round(s)}</text>`);
  }
  let ly = m.t;
  for (const [target, key, label, color, dash] of LINES) {
    const pts = series.filter((p) => p.target === target && typeof p[key] === 'number');
    if (pts.length === 0) continue;
    const xy = pts.map((p) => `${x(p.s).toFixed(1)},${y(p[key]).toFixed(1)}`);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}" points="${xy.join(' ')}"/>`,
      `<line x1="${W - m.r + 10}" y1="${ly + 6}" x2="${W - m.r + 40}" y2="${ly + 6}" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}"/>`,
      `<text x="${W - m.r + 46}" y="${ly + 10}">${esc(label)}</text>`,
    );
    ly += 18;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
