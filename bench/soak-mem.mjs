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
// What is left, `native` = anon - v8 - external - arrayBuffers, is malloc'd memory no JS figure
// counts: Node's and libuv's own objects (a socket's handle, its write requests), OpenSSL, V8's
// compiler zones, thread stacks, and memory glibc keeps after free() (fragmentation: freed chunks
// inside the arenas that it does not hand back to the kernel). A `native` that grows phase after
// phase while v8 and arrayBuffers come back is the allocator keeping memory, not turnout's.
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

/** Every line the probe wrote for `pid`, oldest first. */
export function probeSeries(dir, pid) {
  const file = path.join(dir, `mem-${pid}.jsonl`);
  if (!existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut short by the process's exit
    }
  }
  return out;
}

/**
 * The breakdown of `pid`'s tree, in MiB (see the top of this file). Fields the probe gives are
 * undefined when no process of the tree wrote a line (a tree without the probe, e.g. nginx).
 */
export function memBreakdown(pid, dir) {
  const sum = { rss: 0, file: 0, anon: 0, brk: 0, hugePages: 0 };
  const js = { v8: 0, newSpace: 0, oldSpace: 0, largeObjects: 0, external: 0, arrayBuffers: 0, heapUsed: 0 };
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
  const out = { rssMiB: mib(sum.rss), fileMiB: mib(sum.file), anonMiB: mib(sum.anon), brkMiB: mib(sum.brk), hugePagesMiB: mib(sum.hugePages) };
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
