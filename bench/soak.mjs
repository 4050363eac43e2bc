// Soak: does turnout's cost stay flat with uptime? One turnout process and nginx, side by side in
// front of the same backends, through cycles of phases: 1 KiB load, 64 KiB load, an idle gap,
// uploads (64 KiB bodies both ways), another idle gap. Per phase and per proxy: CPU µs/req, req/s,
// minor page faults per request and RSS (the proxy's whole process tree, from /proc), and turnout's
// memory breakdown (soak-mem.mjs: smaps, and mem-probe.mjs loaded into its processes). Results in
// bench/results/soak.json, a plot of CPU/req over time (soak.svg) and one of memory (soak-mem.svg).
//
//   npm run bench:soak                                   (builds first; about 10 minutes)
//   npm run bench:soak -- --minutes 30                   (the 30-minute run; or SOAK_MINUTES=30)
//   SOAK_MINUTES=2 node bench/soak.mjs                   (shorter; at least 2 cycles always)
//   SOAK_NODE=/usr/bin/node node bench/soak.mjs          (turnout on another node; or --node PATH)
//
// Env: SOAK_MINUTES (default 10; --minutes), SOAK_NODE (node binary for turnout, default the one
// running the bench), SOAK_WORKERS (turnout's worker processes, default 1: turnout's own default,
// a supervisor + one worker, figures summed over both; 0: the data plane in one process), SOAK_CONNECTIONS (default 50),
// SOAK_RATE (req/s per load phase, autocannon's overallRate: bounded runs on a shared machine;
// default unset, as fast as it goes), SOAK_OUT (result file, default soak.json; the plots take its
// name), SOAK_TARGETS (default "turnout,nginx"), SOAK_ENV (extra env for turnout, "K=V,K=V": e.g.
// MALLOC_ARENA_MAX=2), SOAK_MEM_PROBE=0 (no probe in turnout), BENCH_NO_INSTALL=1 (never apt-get
// nginx).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { memBreakdown, probeEnv, soakMemSvg } from './soak-mem.mjs';
import {
  HOST,
  RESULTS_DIR,
  cannon,
  cpuTree,
  cpuTreeDelta,
  ensureCommand,
  fmt,
  freePort,
  machineBusySeconds,
  machineInfo,
  makeTempDir,
  memTree,
  progress,
  removeTempDir,
  sleep,
  startBackend,
  startNginx,
  startTurnout,
  stopChild,
  summarize,
  table,
  waitForHttp,
  writeResult,
  writeTurnoutConfig,
} from './lib.mjs';

const { values: argv } = parseArgs({ options: { node: { type: 'string' }, minutes: { type: 'string' } } });
const MINUTES = Number(argv.minutes ?? process.env.SOAK_MINUTES ?? 10);
// Requests per second per load phase (autocannon's overallRate), for bounded runs on a shared
// machine; unset: as fast as the proxy goes (what the CPU figures are taken at).
const RATE = process.env.SOAK_RATE === undefined ? undefined : Number(process.env.SOAK_RATE);
// SOAK_MEM_PROBE=0: turnout without bench/mem-probe.mjs (smaps figures only).
const MEM_PROBE = process.env.SOAK_MEM_PROBE !== '0';
const TURNOUT_NODE = argv.node ?? process.env.SOAK_NODE ?? process.execPath;
const WORKERS = Number(process.env.SOAK_WORKERS ?? 1);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 50);
const OUT = process.env.SOAK_OUT ?? 'soak.json';
const TARGETS = (process.env.SOAK_TARGETS ?? 'turnout,nginx').split(',').map((s) => s.trim());
const EXTRA_ENV = Object.fromEntries(
  (process.env.SOAK_ENV ?? '')
    .split(',')
    .filter((kv) => kv.includes('='))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

const SMALL = 1024;
const LARGE = 64 * 1024;
const UPLOAD = Buffer.alloc(LARGE, 'u');
// A cycle: three load phases (each proxy in turn) and two idle gaps. At least 2 cycles, so the
// last 64 KiB phase can be set against the first.
const CYCLES = Math.max(2, Math.round((MINUTES * 60) / 120));
const CYCLE_S = (MINUTES * 60) / CYCLES;
const LOAD_S = Math.max(2, Math.round((CYCLE_S * 0.8) / (3 * TARGETS.length)));
const IDLE_S = Math.max(1, Math.round(CYCLE_S * 0.1));
const PHASES = ['1k', '64k', 'idle', 'upload', 'idle'];

// Acceptance (issue 17): last 64 KiB CPU/req <= 1.15x the first; < 1 fault/req in every phase;
// RSS within 20 MiB of the first phase's.
const GOALS = { cpuDrift: 1.15, faultsPerReq: 1, rssGrowthMiB: 20 };

const MiB = 2 ** 20;
// The probe's sampling interval, and the step of the memory series kept in the result file.
const MEM_INTERVAL_MS = 1000;
const SERIES_STEP_S = 5;

/**
 * Every SERIES_STEP_S during the run, each proxy's breakdown (memBreakdown: smaps, and turnout's
 * probe lines), `s` seconds since the phases began (the plot's and the phases' clock): what a
 * 30-minute run shows levelling off or not, between the phase ends. Read from /proc by the bench
 * (the kernel's walk of smaps is the reader's CPU, not the proxy's). Returns the stop function.
 */
function sampleMemory(targets, t0, out) {
  const r = (v) => (v === undefined ? undefined : Math.round(v * 10) / 10);
  const timer = setInterval(() => {
    const s = Math.round((performance.now() - t0) / 1000);
    for (const t of targets) {
      const m = memBreakdown(t.child.pid, t.memDir);
      out.push({ target: t.name, s, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [k, r(v)])) });
    }
  }, SERIES_STEP_S * 1000);
  return () => clearInterval(timer);
}

function turnoutConfig(port, adminPort, smallPort, largePort) {
  const service = (prefix, p) => ({
    routes: [{ host: '*', pathPrefix: prefix }],
    pools: { main: [{ id: 'b1', url: `http://${HOST}:${p}` }] },
    split: { main: 100 },
  });
  return {
    listen: { host: HOST, port },
    admin: { host: HOST, port: adminPort },
    state: { store: 'memory' },
    log: { level: 'warn', access: false },
    services: { small: service('/s/', smallPort), large: service('/l/', largePort) },
  };
}

function nodeVersion(bin) {
  try {
    return execFileSync(bin, ['-v']).toString().trim();
  } catch {
    return 'unknown';
  }
}

/** One load phase on one proxy: autocannon, with CPU, faults and RSS of the proxy's tree around it. */
async function loadPhase(target, kind, t0) {
  const url = target.base + (kind === '1k' ? 's/x' : 'l/x');
  const opts = { url, connections: CONNECTIONS, duration: LOAD_S };
  if (RATE !== undefined) opts.overallRate = RATE;
  if (kind === 'upload') Object.assign(opts, { method: 'POST', body: UPLOAD, headers: { 'content-type': 'application/octet-stream' } });
  const pid = target.child.pid;
  const cpu0 = cpuTree(pid);
  const mem0 = memTree(pid);
  const busy0 = machineBusySeconds();
  const start = performance.now();
  const r = summarize(await cannon(opts));
  const wall = (performance.now() - start) / 1000;
  const cpu = cpuTreeDelta(cpu0, cpuTree(pid)).total;
  const mem1 = memTree(pid);
  const n = r.requests;
  return {
    target: target.name,
    kind,
    startS: (start - t0) / 1000,
    endS: (performance.now() - t0) / 1000,
    rps: r.rps,
    requests: n,
    p99Ms: r.p99Ms,
    cpuUsPerReq: n > 0 ? (cpu / n) * 1e6 : undefined,
    cpuPct: (cpu / wall) * 100,
    faultsPerReq: n > 0 ? (mem1.minflt - mem0.minflt) / n : undefined,
    rssMiB: mem1.rssBytes / MiB,
    machineBusyPct: ((machineBusySeconds() - busy0) / wall) * 100,
    errors: r.errors + r.timeouts + r.non2xx,
    mem: memBreakdown(pid, target.memDir, { perProcess: true }),
  };
}

/** An idle gap: nobody sends anything; what each proxy's RSS and CPU do meanwhile. */
async function idlePhase(targets, t0) {
  const before = targets.map((t) => ({ cpu: cpuTree(t.child.pid), mem: memTree(t.child.pid) }));
  const start = performance.now();
  await sleep(IDLE_S * 1000);
  return targets.map((t, i) => {
    const mem = memTree(t.child.pid);
    return {
      target: t.name,
      kind: 'idle',
      startS: (start - t0) / 1000,
      endS: (performance.now() - t0) / 1000,
      cpuMs: cpuTreeDelta(before[i].cpu, cpuTree(t.child.pid)).total * 1000,
      faults: mem.minflt - before[i].mem.minflt,
      rssMiB: mem.rssBytes / MiB,
      mem: memBreakdown(t.child.pid, t.memDir, { perProcess: true }),
    };
  });
}

/**
 * Does RSS level off? The highest RSS of the run's second half against its first half's (a
 * growth that stops shows ~0 here however much it grew early), and what grew between the first
 * idle gap and the last one, per part of the breakdown (idle to idle: no load-time young
 * generation or in-flight buffers in either).
 */
function levelling(mine) {
  const mid = (mine[0].startS + mine[mine.length - 1].endS) / 2;
  const max = (ps) => Math.max(...ps.map((p) => p.rssMiB));
  const early = mine.filter((p) => p.endS <= mid);
  const late = mine.filter((p) => p.endS > mid);
  const idles = mine.filter((p) => p.kind === 'idle');
  const idleGrowthMiB = {};
  if (idles.length >= 2) {
    const [a, b] = [idles[0].mem ?? {}, idles[idles.length - 1].mem ?? {}];
    for (const k of Object.keys(b)) if (typeof a[k] === 'number') idleGrowthMiB[k] = b[k] - a[k];
  }
  return {
    rssFirstHalfMaxMiB: early.length > 0 ? max(early) : undefined,
    rssSecondHalfMaxMiB: late.length > 0 ? max(late) : undefined,
    rssSecondHalfGrowthMiB: early.length > 0 && late.length > 0 ? max(late) - max(early) : undefined,
    idleGrowthMiB,
  };
}

/** Per proxy: the acceptance figures from its phases. */
function verdicts(phases, names) {
  const out = {};
  for (const name of names) {
    const mine = phases.filter((p) => p.target === name);
    const large = mine.filter((p) => p.kind === '64k');
    const loads = mine.filter((p) => p.kind !== 'idle');
    const first = mine[0];
    const later = mine.slice(1).map((p) => p.rssMiB);
    const cpuDrift = large.length >= 2 ? large[large.length - 1].cpuUsPerReq / large[0].cpuUsPerReq : undefined;
    const maxFaults = Math.max(...loads.map((p) => p.faultsPerReq ?? 0));
    const rssGrowthMiB = later.length > 0 ? Math.max(...later) - first.rssMiB : undefined;
    out[name] = {
      cpuDrift,
      cpuDriftMet: cpuDrift !== undefined && cpuDrift <= GOALS.cpuDrift,
      maxFaultsPerReq: maxFaults,
      faultsMet: maxFaults < GOALS.faultsPerReq,
      rssFirstMiB: first.rssMiB,
      rssMaxMiB: Math.max(first.rssMiB, ...later),
      rssLastMiB: mine[mine.length - 1].rssMiB,
      rssGrowthMiB,
      rssMet: rssGrowthMiB !== undefined && rssGrowthMiB <= GOALS.rssGrowthMiB,
      ...levelling(mine),
    };
  }
  return out;
}

const MEM_COLUMNS = [
  ['RSS', 'rssMiB'],
  ['file', 'fileMiB'],
  ['anon', 'anonMiB'],
  ['brk', 'brkMiB'],
  ['mmap', 'mmapMiB'],
  ['V8 heap', 'v8MiB'],
  ['new space', 'newSpaceMiB'],
  ['old space', 'oldSpaceMiB'],
  ['heap used', 'heapUsedMiB'],
  ['arrayBuffers', 'arrayBuffersMiB'],
  ['external', 'externalMiB'],
  ['native', 'nativeMiB'],
];

/** A phase's breakdown in a progress line: ` (V8 38 new 16, buffers 5, native 40, brk 30)`. */
function memBrief(m) {
  if (m?.v8MiB === undefined) return '';
  const f = (v) => v.toFixed(0);
  return ` (V8 ${f(m.v8MiB)} new ${f(m.newSpaceMiB)}, buffers ${f(m.arrayBuffersMiB)}, native ${f(m.nativeMiB)}, brk ${f(m.brkMiB)}, file ${f(m.fileMiB)})`;
}

/** The memory breakdown table of one proxy: a row per phase, idle gaps included. */
export function memRows(phases, name) {
  const rows = [['phase', ...MEM_COLUMNS.map(([h]) => h)]];
  for (const p of phases.filter((x) => x.target === name)) {
    rows.push([`${p.cycle + 1} ${p.kind}`, ...MEM_COLUMNS.map(([, k]) => (p.mem?.[k] === undefined ? '-' : p.mem[k].toFixed(1)))]);
  }
  return rows;
}

// --- the plot: CPU µs/req of each load phase over time, one line per proxy and phase kind -------

const COLORS = { turnout: '#d62728', nginx: '#1f77b4' };
const DASH = { '1k': '', '64k': '8 4', upload: '2 4' };

export function soakSvg(phases, title) {
  const loads = phases.filter((p) => p.kind !== 'idle' && p.cpuUsPerReq !== undefined);
  const W = 900;
  const H = 440;
  const m = { l: 60, r: 170, t: 40, b: 45 };
  const maxX = Math.max(1, ...loads.map((p) => p.endS));
  const maxY = Math.max(1, ...loads.map((p) => p.cpuUsPerReq)) * 1.1;
  const x = (s) => m.l + (s / maxX) * (W - m.l - m.r);
  const y = (v) => H - m.b - (v / maxY) * (H - m.t - m.b);
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="22" font-size="14">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">seconds since start</text>`,
    `<text x="14" y="${(m.t + H - m.b) / 2}" transform="rotate(-90 14 ${(m.t + H - m.b) / 2})" text-anchor="middle">CPU µs per request</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (maxY / 5) * i;
    parts.push(`<line x1="${m.l - 4}" y1="${y(v)}" x2="${W - m.r}" y2="${y(v)}" stroke="#ddd"/>`, `<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`);
    const s = (maxX / 5) * i;
    parts.push(`<text x="${x(s)}" y="${H - m.b + 16}" text-anchor="middle">${Math.round(s)}</text>`);
  }
  let ly = m.t;
  for (const target of Object.keys(COLORS)) {
    for (const kind of Object.keys(DASH)) {
      const pts = loads.filter((p) => p.target === target && p.kind === kind);
      if (pts.length === 0) continue;
      const xy = pts.map((p) => `${x((p.startS + p.endS) / 2).toFixed(1)},${y(p.cpuUsPerReq).toFixed(1)}`);
      parts.push(`<polyline fill="none" stroke="${COLORS[target]}" stroke-width="2" stroke-dasharray="${DASH[kind]}" points="${xy.join(' ')}"/>`);
      for (const c of xy) parts.push(`<circle cx="${c.split(',')[0]}" cy="${c.split(',')[1]}" r="3" fill="${COLORS[target]}"/>`);
      parts.push(
        `<line x1="${W - m.r + 10}" y1="${ly + 6}" x2="${W - m.r + 40}" y2="${ly + 6}" stroke="${COLORS[target]}" stroke-width="2" stroke-dasharray="${DASH[kind]}"/>`,
        `<text x="${W - m.r + 46}" y="${ly + 10}">${target} ${kind === 'upload' ? 'upload 64 KiB' : kind === '1k' ? '1 KiB' : '64 KiB'}</text>`,
      );
      ly += 18;
    }
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

// -------------------------------------------------------------------------------------------------

async function main() {
  const notes = [];
  let names = TARGETS.filter((t) => t === 'turnout' || t === 'nginx');
  if (names.includes('nginx') && !ensureCommand('nginx', 'nginx', notes)) names = names.filter((t) => t !== 'nginx');
  const machine = machineInfo();
  const turnoutNode = nodeVersion(TURNOUT_NODE);
  progress(
    `soak: ${names.join(' + ')}; ${CYCLES} cycles of [${PHASES.join(', ')}], load ${LOAD_S}s per proxy, idle ${IDLE_S}s; about ${Math.ceil((CYCLES * (3 * names.length * LOAD_S + 2 * IDLE_S)) / 60)} min; turnout on node ${turnoutNode} (${TURNOUT_NODE}), workers ${WORKERS}`,
  );
  const tmp = makeTempDir();
  const [smallPort, largePort] = [await freePort(), await freePort()];
  const backends = [await startBackend([smallPort], SMALL), await startBackend([largePort], LARGE)];
  const targets = [];
  const phases = [];
  const series = [];
  let stopSampling = () => undefined;
  try {
    for (const name of names) {
      const port = await freePort();
      let child;
      let memDir;
      if (name === 'turnout') {
        const adminPort = await freePort();
        const file = writeTurnoutConfig(tmp, 'turnout.yaml', turnoutConfig(port, adminPort, smallPort, largePort));
        memDir = MEM_PROBE ? path.join(tmp, 'mem') : undefined;
        const env = memDir === undefined ? EXTRA_ENV : probeEnv(memDir, EXTRA_ENV, MEM_INTERVAL_MS);
        child = await startTurnout(file, adminPort, { workers: WORKERS, inProcess: WORKERS === 0, node: TURNOUT_NODE, env });
      } else {
        child = startNginx(tmp, port, { '/s/': [smallPort], '/l/': [largePort] });
      }
      const base = `http://${HOST}:${port}/`;
      await waitForHttp(`${base}s/x`, { child, timeoutMs: 20000 });
      for (const [p, size] of [['s/x', SMALL], ['l/x', LARGE]]) {
        const body = Buffer.from(await (await fetch(base + p)).arrayBuffer());
        if (body.length !== size) throw new Error(`${name}: GET ${base + p} gave ${body.length} bytes, expected ${size}`);
      }
      targets.push({ name, base, child, memDir });
    }
    const t0 = performance.now();
    stopSampling = sampleMemory(targets, t0, series);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      for (const kind of PHASES) {
        if (kind === 'idle') {
          for (const p of await idlePhase(targets, t0)) phases.push({ cycle, ...p });
          progress(`cycle ${cycle + 1}/${CYCLES} idle: ${targets.map((t) => `${t.name} RSS ${phases.findLast((p) => p.target === t.name).rssMiB.toFixed(0)} MiB${memBrief(phases.findLast((p) => p.target === t.name).mem)}`).join(', ')}`);
          continue;
        }
        // Alternate which proxy goes first, so neither always follows the other.
        const order = cycle % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          const p = { cycle, ...(await loadPhase(t, kind, t0)) };
          phases.push(p);
          progress(
            `cycle ${cycle + 1}/${CYCLES} ${kind.padEnd(6)} ${t.name.padEnd(7)} ${fmt.int(p.rps).padStart(6)} req/s  ${fmt.int(p.cpuUsPerReq).padStart(4)} µs/req  ${p.faultsPerReq.toFixed(2)} faults/req  RSS ${p.rssMiB.toFixed(0)} MiB  machine ${p.machineBusyPct.toFixed(0)} %${p.errors > 0 ? `  ERRORS ${p.errors}` : ''}${memBrief(p.mem)}`,
          );
        }
      }
    }
    stopSampling();
  } finally {
    stopSampling();
    await Promise.all(targets.map((t) => stopChild(t.child)));
    await Promise.all(backends.map((b) => stopChild(b)));
    removeTempDir(tmp);
  }

  const verdict = verdicts(phases, names);
  const svgName = OUT.replace(/\.json$/, '') + '.svg';
  const title = `turnout (node ${turnoutNode}, workers ${WORKERS}) vs nginx: CPU per request over a ${MINUTES}-minute soak`;
  writeFileSync(path.join(RESULTS_DIR, svgName), soakSvg(phases, title));
  const memSvgName = OUT.replace(/\.json$/, '') + '-mem.svg';
  writeFileSync(path.join(RESULTS_DIR, memSvgName), soakMemSvg(series, phases, `turnout (node ${turnoutNode}, workers ${WORKERS}) vs nginx: memory over a ${MINUTES}-minute soak`));
  const file = writeResult(OUT, {
    bench: 'soak',
    machine,
    turnout: { node: turnoutNode, nodeBinary: TURNOUT_NODE, workers: WORKERS, env: EXTRA_ENV },
    settings: { minutes: MINUTES, cycles: CYCLES, loadS: LOAD_S, idleS: IDLE_S, connections: CONNECTIONS, rate: RATE ?? null, phases: PHASES, memProbe: MEM_PROBE },
    goals: GOALS,
    verdict,
    notes,
    plot: svgName,
    memPlot: memSvgName,
    phases,
    memSeries: series,
  });

  const kinds = ['1k', '64k', 'upload'];
  const rows = [['phase', ...names.flatMap((n) => [`${n} µs/req`, `${n} req/s`, `${n} faults/req`, `${n} RSS MiB`])]];
  for (let c = 0; c < CYCLES; c++) {
    for (const k of kinds) {
      const row = [`${c + 1} ${k}`];
      for (const n of names) {
        const p = phases.find((x) => x.cycle === c && x.kind === k && x.target === n);
        row.push(fmt.int(p?.cpuUsPerReq), fmt.int(p?.rps), p?.faultsPerReq?.toFixed(2) ?? '-', p?.rssMiB.toFixed(0) ?? '-');
      }
      rows.push(row);
    }
  }
  process.stdout.write(`\n${table(rows)}\n\n`);
  if (names.includes('turnout')) process.stdout.write(`turnout's memory at each phase's end, MiB (bench/soak-mem.mjs):\n${table(memRows(phases, 'turnout'))}\n\n`);
  for (const n of names) {
    const v = verdict[n];
    process.stdout.write(
      `${n}: last/first 64 KiB CPU ${fmt.ratio(v.cpuDrift)} (${v.cpuDriftMet ? 'MET' : 'NOT MET'}, ≤ ${GOALS.cpuDrift}×); max faults/req ${v.maxFaultsPerReq.toFixed(2)} (${v.faultsMet ? 'MET' : 'NOT MET'}, < 1); RSS ${v.rssFirstMiB.toFixed(0)} -> max ${v.rssMaxMiB.toFixed(0)}, last ${v.rssLastMiB.toFixed(0)} MiB (${v.rssGrowthMiB >= 0 ? '+' : ''}${v.rssGrowthMiB?.toFixed(0)}: ${v.rssMet ? 'MET' : 'NOT MET'}, ≤ ${GOALS.rssGrowthMiB} MiB); second half's max RSS vs the first half's ${v.rssSecondHalfGrowthMiB >= 0 ? '+' : ''}${v.rssSecondHalfGrowthMiB?.toFixed(0)} MiB; first -> last idle gap: ${Object.entries(v.idleGrowthMiB).map(([k, d]) => `${k.replace(/MiB$/, '')} ${d >= 0 ? '+' : ''}${d.toFixed(1)}`).join(', ')}\n`,
    );
  }
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  progress(`results: ${file}, plots: ${path.join(RESULTS_DIR, svgName)}, ${path.join(RESULTS_DIR, memSvgName)}`);
}

await main();
