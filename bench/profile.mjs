// CPU profile summary of turnout under load: `node --cpu-prof` on the built turnout, in front of
// bench/backend.mjs, driven by autocannon; then self time per function from the .cpuprofile, top 15.
// The data plane runs in the profiled process (bench/inproc-turnout.mjs: turnout without workers):
// `turnout serve` forks its workers with no node flags, so `--cpu-prof` on it would profile only the
// supervisor, which serves no request (and --cpu-prof is not allowed in NODE_OPTIONS).
//
//   npm run bench:profile              (builds first)
//   BENCH_DURATION=10 node bench/profile.mjs
//
// Env: BENCH_DURATION (s of load, default 10), BENCH_CONNECTIONS (default 50), PROFILE_SIZE
// (response bytes, default 1024), PROFILE_TOP (rows printed, default 15).
// Writes results/profile.json, results/profile.md, and the raw profile as results/profile.cpuprofile
// (git-ignored; open it in Chrome DevTools > Performance, or VS Code).
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  HOST,
  RESULTS_DIR,
  ROOT,
  cannon,
  treeCpuSeconds,
  fmt,
  freePort,
  machineInfo,
  makeTempDir,
  progress,
  removeTempDir,
  startBackend,
  startTurnout,
  stopChild,
  summarize,
  turnoutBenchConfig,
  waitForHttp,
  writeResult,
  writeTurnoutConfig,
} from './lib.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SIZE = Number(process.env.PROFILE_SIZE ?? 1024);
const TOP = Number(process.env.PROFILE_TOP ?? 15);
const KEEP = 50; // rows kept in profile.json
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** A profile url shortened for reading: relative to the repo, node_modules/…, node:…, or "". */
function shortUrl(url) {
  if (!url) return '';
  let u = url;
  if (u.startsWith('file://')) {
    try {
      u = decodeURIComponent(new URL(u).pathname);
    } catch {
      // keep it
    }
  }
  if (u.startsWith(`${ROOT}/`)) return u.slice(ROOT.length + 1);
  return u;
}

/** Where a function lives: turnout (dist/, bin/), a package, Node's own JS, or V8/native. */
function area(name, url) {
  if (name === '(garbage collector)') return 'gc';
  if (name === '(program)' || name === '(idle)' || name === '(root)') return name.slice(1, -1);
  if (url === '') return 'native (V8 builtins, C++ bindings)';
  if (url.startsWith('wasm://')) return 'wasm (undici\'s llhttp)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 13).split('/');
    return `node_modules/${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (url.startsWith('dist/') || url.startsWith('bin/') || url.startsWith('src/')) return 'turnout';
  return 'other';
}

/**
 * Self time per function from a V8 .cpuprofile: each sample's duration (the time to the next sample;
 * endTime for the last) goes to the node it hit; nodes are merged by name + url:line. Only samples
 * taken in [fromUs, toUs) count (profile timestamps are µs of the monotonic clock, the same clock
 * as process.hrtime on Linux). Returns
 * { totalUs, idleUs, functions: [{ name, url, line, selfUs }], areas: { area: selfUs } }.
 */
function selfTimes(profile, fromUs = -Infinity, toUs = Infinity) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const { samples, timeDeltas } = profile;
  if (Array.isArray(samples) && samples.length > 0 && Array.isArray(timeDeltas)) {
    let t = profile.startTime;
    const times = new Array(samples.length);
    for (let i = 0; i < samples.length; i++) times[i] = t += timeDeltas[i];
    for (let i = 0; i < samples.length; i++) {
      if (times[i] < fromUs || times[i] >= toUs) continue;
      const d = (i + 1 < samples.length ? times[i + 1] : profile.endTime) - times[i];
      if (d > 0) selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + d);
    }
  } else {
    // No samples: spread the wall time over hitCount.
    const hits = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
    const per = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
    for (const n of profile.nodes) if (n.hitCount) selfUs.set(n.id, n.hitCount * per);
  }
  const fns = new Map();
  const areas = {};
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)?.callFrame ?? { functionName: '(unknown)', url: '', lineNumber: -1 };
    const name = cf.functionName || '(anonymous)';
    const url = shortUrl(cf.url);
    const line = cf.lineNumber >= 0 ? cf.lineNumber + 1 : undefined; // 0-based in the profile
    const key = `${name}\u0000${url}\u0000${line}`;
    const f = fns.get(key) ?? { name, url, line, selfUs: 0 };
    f.selfUs += us;
    fns.set(key, f);
    const a = area(name, url);
    areas[a] = (areas[a] ?? 0) + us;
    totalUs += us;
    if (name === '(idle)') idleUs += us;
  }
  const functions = [...fns.values()].sort((a, b) => b.selfUs - a.selfUs);
  return { totalUs, idleUs, functions, areas };
}

/** An aligned text table; `align` has one letter per column, l or r. */
function textTable(rows, align) {
  const w = [];
  for (const r of rows) r.forEach((c, i) => (w[i] = Math.max(w[i] ?? 0, c.length)));
  const line = (r) => r.map((c, i) => (align[i] === 'l' ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  return [line(rows[0]), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function main() {
  const machine = machineInfo();
  const tmp = makeTempDir('turnout-profile-');
  const profDir = path.join(tmp, 'prof');
  mkdirSync(profDir, { recursive: true });
  progress(`turnout CPU profile: ${DURATION}s of load, ${CONNECTIONS} connections, ${SIZE}-byte responses; load average ${machine.loadAvgAtStart.join(' ')}`);

  const backendPort = await freePort();
  const backend = await startBackend([backendPort], SIZE);
  let turnout;
  let load;
  let turnoutCpuS;
  let loadFromUs;
  let loadToUs;
  try {
    const port = await freePort();
    const adminPort = await freePort();
    const file = writeTurnoutConfig(tmp, 'turnout.yaml', turnoutBenchConfig(port, adminPort, [backendPort]));
    turnout = await startTurnout(file, adminPort, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir], inProcess: true });
    const url = `http://${HOST}:${port}/`;
    await waitForHttp(url, { child: turnout });
    const cpu0 = treeCpuSeconds(turnout.pid);
    loadFromUs = nowUs();
    const r = await cannon({ url, connections: CONNECTIONS, duration: DURATION });
    loadToUs = nowUs();
    turnoutCpuS = treeCpuSeconds(turnout.pid) - cpu0;
    load = summarize(r);
    progress(`load: ${fmt.int(load.rps)} req/s, p99 ${fmt.ms(load.p99Ms)} ms, ${load.errors + load.timeouts} errors, ${load.non2xx} non-2xx (profiler on: slower than in npm run bench)`);
  } finally {
    // SIGTERM: turnout drains, exits normally, and node writes the .cpuprofile on the way out. A
    // long grace: writing a profile of a busy process takes a while.
    await stopChild(turnout, 30_000);
    await stopChild(backend);
  }

  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${profDir} (turnout exit: ${turnout.child.exitCode ?? turnout.child.signalCode})\n${turnout.output()}`);
  const profFile = path.join(profDir, files[0]);
  const profile = JSON.parse(readFileSync(profFile, 'utf8'));
  mkdirSync(RESULTS_DIR, { recursive: true });
  copyFileSync(profFile, path.join(RESULTS_DIR, 'profile.cpuprofile'));
  removeTempDir(tmp);

  // Only the load window: start-up (module loading, config, fastify) and shutdown are not the
  // request path. Should the clocks not line up (not Linux?), fall back to the whole profile.
  const notes = [];
  let window = { fromUs: loadFromUs, toUs: loadToUs, what: 'load window only' };
  let st = selfTimes(profile, loadFromUs, loadToUs);
  if (st.totalUs < ((loadToUs - loadFromUs) / 2)) {
    notes.push(`the profile's clock did not line up with the load window (${Math.round(st.totalUs / 1000)} ms of samples in it): the whole profile is counted, start-up and shutdown included.`);
    window = { fromUs: profile.startTime, toUs: profile.endTime, what: 'whole profile (start-up and shutdown included)' };
    st = selfTimes(profile);
  }
  const { totalUs, idleUs, functions, areas } = st;
  const busyUs = totalUs - idleUs;
  const pct = (us, of) => (of > 0 ? (us / of) * 100 : 0);
  const ranked = functions.filter((f) => f.name !== '(idle)');
  const top = ranked.slice(0, KEEP).map((f) => ({
    function: f.name,
    location: f.url === '' ? '' : `${f.url}${f.line !== undefined ? `:${f.line}` : ''}`,
    area: area(f.name, f.url),
    selfMs: Math.round(f.selfUs / 100) / 10,
    pctOfBusy: Math.round(pct(f.selfUs, busyUs) * 100) / 100,
    pctOfTotal: Math.round(pct(f.selfUs, totalUs) * 100) / 100,
  }));
  const areaRows = Object.entries(areas)
    .filter(([a]) => a !== 'idle')
    .sort((a, b) => b[1] - a[1])
    .map(([a, us]) => ({ area: a, selfMs: Math.round(us / 100) / 10, pctOfBusy: Math.round(pct(us, busyUs) * 100) / 100 }));

  notes.push(
    'self time = samples whose top frame is the function (not its callees), merged by name + location; only samples taken while autocannon ran count; "% busy" excludes (idle) samples.',
    '(program) is time in V8/native code not attributed to a JS function; (garbage collector) is GC; functions without a location are V8 builtins or C++ bindings (e.g. writev).',
    'locations are in dist/ (the compiled JS): the line numbers are dist lines, not src lines.',
    'the profiler adds overhead (sampling every ~1 ms): req/s here is lower than in npm run bench.',
  );
  const requests = load.requests;
  const doc = {
    bench: 'turnout CPU profile (bench/profile.mjs)',
    machine,
    settings: { durationS: DURATION, connections: CONNECTIONS, size: SIZE, nodeFlags: ['--cpu-prof'], dataPlane: 'in the profiled process (bench/inproc-turnout.mjs, no workers)' },
    load: { ...load, turnoutCpuPct: (turnoutCpuS / DURATION) * 100, turnoutCpuUsPerReq: requests > 0 ? (turnoutCpuS / requests) * 1e6 : undefined },
    profile: { window: window.what, sampledMs: Math.round(totalUs / 1000), idleMs: Math.round(idleUs / 1000), busyMs: Math.round(busyUs / 1000), samples: profile.samples?.length, nodes: profile.nodes.length },
    areas: areaRows,
    top,
    notes,
  };
  const file = writeResult('profile.json', doc);

  // Markdown summary, next to the results.
  const md = [];
  md.push(`# turnout CPU profile (\`npm run bench:profile\`, ${machine.date.slice(0, 16).replace('T', ' ')} UTC)`);
  md.push('');
  md.push(
    `${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, commit ${machine.commit ?? '?'}${machine.srcDirty ? ' (src/ had uncommitted changes)' : ''}; load average at start ${machine.loadAvgAtStart.join(' ')}. ` +
      `${CONNECTIONS} connections for ${DURATION} s, ${SIZE}-byte responses: ${fmt.int(load.rps)} req/s, ${load.errors + load.timeouts} errors, ${load.non2xx} non-2xx; turnout CPU ${doc.load.turnoutCpuPct.toFixed(0)} % of one core, ${doc.load.turnoutCpuUsPerReq?.toFixed(0) ?? '-'} µs/req (with the profiler on). ` +
      `Sampled ${fmt.int(doc.profile.sampledMs)} ms (${window.what}), of which busy ${fmt.int(doc.profile.busyMs)} ms.`,
  );
  md.push('');
  md.push(`**Top ${TOP} functions by self time**`);
  md.push('');
  md.push('| # | function | location | self ms | % busy |');
  md.push('|---:|---|---|---:|---:|');
  top.slice(0, TOP).forEach((f, i) => md.push(`| ${i + 1} | \`${f.function}\` | ${f.location === '' ? '-' : `\`${f.location}\``} | ${f.selfMs.toFixed(1)} | ${f.pctOfBusy.toFixed(1)} % |`));
  md.push('');
  md.push('**Self time by area**');
  md.push('');
  md.push('| area | self ms | % busy |');
  md.push('|---|---:|---:|');
  for (const a of areaRows) md.push(`| ${a.area} | ${a.selfMs.toFixed(1)} | ${a.pctOfBusy.toFixed(1)} % |`);
  md.push('');
  for (const n of notes) md.push(`- ${n}`);
  writeFileSync(path.join(RESULTS_DIR, 'profile.md'), `${md.join('\n')}\n`);

  const out = [''];
  out.push(`turnout CPU profile — ${machine.date} — ${fmt.int(load.rps)} req/s with the profiler on, ${load.errors + load.timeouts} errors, ${load.non2xx} non-2xx`);
  out.push(`sampled ${fmt.int(doc.profile.sampledMs)} ms (${window.what}), busy ${fmt.int(doc.profile.busyMs)} ms (${pct(busyUs, totalUs).toFixed(0)} %)`);
  out.push('');
  out.push(
    textTable(
      [
        ['#', 'function', 'location', 'self ms', '% busy'],
        ...top.slice(0, TOP).map((f, i) => [String(i + 1), f.function, f.location || '-', f.selfMs.toFixed(1), `${f.pctOfBusy.toFixed(1)} %`]),
      ],
      'rllrr',
    ),
  );
  out.push('');
  out.push(textTable([['area', 'self ms', '% busy'], ...areaRows.map((a) => [a.area, a.selfMs.toFixed(1), `${a.pctOfBusy.toFixed(1)} %`])], 'lrr'));
  out.push('');
  out.push(`results: ${path.relative(ROOT, file)}, bench/results/profile.md, bench/results/profile.cpuprofile (raw, git-ignored)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`profile bench failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
