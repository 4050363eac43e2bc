// bench:h2's profile: the floor (bench/h2-relay.mjs) and turnout (h2 to clients, HTTP/1.1
// upstream; its data plane in the profiled process, bench/inproc-turnout.mjs) each under
// `node --cpu-prof`, driven by the same h2load load as bench/h2.mjs (100 streams on 4
// connections, 1 KiB answers from bench/backend.mjs). Self time by area and the top functions of
// each, side by side, with the CPU µs per request each had under the profiler (the profiler costs
// CPU: these are not bench:h2's figures, compare them with each other only).
//
//   npm run build && node bench/h2-profile.mjs        # 10 s each
//   BENCH_DURATION=5 node bench/h2-profile.mjs        # shorter
//
// Writes bench/results/h2-profile.json and bench/results/h2-profile.md. bench/h2.mjs runs it too
// with BENCH_PROFILE=1.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  BENCH_DIR, HOST, RESULTS_DIR, ROOT, cpuTree, cpuTreeDelta, freePort, machineInfo, makeTempDir, progress, removeTempDir, sleep, startBackend,
  startChild, startTurnout, stopAll, stopChild, turnoutBenchConfig, writeResult, writeTurnoutConfig,
} from './lib.mjs';

const run = promisify(execFile);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP_REQUESTS = Number(process.env.BENCH_WARMUP_REQUESTS ?? 5000);
const TOP = 20;
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Where a function's self time goes, for both processes alike. */
export function areaOf(fn, url) {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return '(program: native, nghttp2 and libuv outside JS)';
  if (/\/dist\/proxy\/h2\//.test(url)) return 'turnout: h2 adapter (src/proxy/h2)';
  if (/\/dist\/(telemetry|process)\//.test(url)) return 'turnout: telemetry';
  if (/\/dist\//.test(url)) return 'turnout: engine (src/proxy and the rest)';
  if (/h2-relay/.test(url)) return 'relay code';
  if (/internal\/http2/.test(url)) return 'node:http2 (JS side)';
  if (/_http_|internal\/http\b/.test(url)) return 'node:http (upstream client)';
  if (/internal\/streams|node:stream/.test(url)) return 'streams';
  if (/node:net|internal\/stream_base|internal\/net/.test(url)) return 'net / stream_base';
  if (/node_modules/.test(url)) return 'npm packages';
  if (url === '') return `native: ${fn}`;
  return 'other node internals';
}

/** Self time of a V8 .cpuprofile (samples in [fromUs, toUs) only) by area and by function, µs. */
export function selfTime(p, fromUs = -Infinity, toUs = Infinity) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const at = (t += p.timeDeltas[i]);
    if (at < fromUs || at >= toUs) continue;
    const next = i + 1 < p.samples.length ? at + p.timeDeltas[i + 1] : p.endTime;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + Math.max(0, next - at));
  }
  const areas = {};
  const fns = {};
  let busy = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const url = cf.url ?? '';
    const fn = cf.functionName || '(anonymous)';
    if (fn === '(idle)') continue;
    const area = areaOf(fn, url);
    areas[area] = (areas[area] ?? 0) + us;
    const key = `${fn} ${url.replace(/^.*\/(lib|bench|dist)\//, '$1/')}:${cf.lineNumber + 1}`;
    fns[key] = (fns[key] ?? 0) + us;
    busy += us;
  }
  return { busyUs: busy, areas, fns };
}

async function waitForTcp(port, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, HOST);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

async function h2load(url, args) {
  const { stdout } = await run('h2load', [...args, url], { maxBuffer: 16 * 1024 * 1024, timeout: (DURATION_S + 60) * 1000 });
  const m = /(\d+) succeeded/.exec(stdout);
  return m ? Number(m[1]) : 0;
}

/** One target under --cpu-prof: requests, CPU µs/req (profiler on), its self times in the load window. */
async function profileOne(name, tmp, backendPort) {
  const profDir = path.join(tmp, `prof-${name}`);
  mkdirSync(profDir, { recursive: true });
  const prof = ['--cpu-prof', '--cpu-prof-dir', profDir];
  const port = await freePort();
  let child;
  if (name === 'floor') {
    child = startChild('floor', process.execPath, [...prof, path.join(BENCH_DIR, 'h2-relay.mjs'), '--port', String(port), '--backend', `http://${HOST}:${backendPort}`], { env: { NODE_ENV: 'production' } });
    await waitForTcp(port);
  } else {
    const adminPort = await freePort();
    const file = writeTurnoutConfig(tmp, `${name}.yaml`, turnoutBenchConfig(port, adminPort, [backendPort]));
    child = await startTurnout(file, adminPort, { nodeArgs: prof, inProcess: true });
  }
  const url = `http://${HOST}:${port}/`;
  const c = ['-c', '4', '-m', '25'];
  await h2load(url, ['-n', String(WARMUP_REQUESTS), ...c]);
  const c0 = cpuTree(child.pid);
  const from = nowUs();
  const requests = await h2load(url, ['-D', String(DURATION_S), ...c]);
  const to = nowUs();
  const cpu = cpuTreeDelta(c0, cpuTree(child.pid));
  await stopChild(child, 30_000);
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`${name}: no .cpuprofile`);
  // BENCH_PROFILE_KEEP=DIR: the raw profiles are kept there (open them in Chrome DevTools).
  if (process.env.BENCH_PROFILE_KEEP) copyFileSync(path.join(profDir, file), path.join(process.env.BENCH_PROFILE_KEEP, `h2-${name}.cpuprofile`));
  const st = selfTime(JSON.parse(readFileSync(path.join(profDir, file), 'utf8')), from, to);
  return { requests, cpuUsPerReq: requests > 0 ? (cpu.total * 1e6) / requests : undefined, ...st };
}

/** Per-request µs of each area: its share of the busy time times the CPU per request. */
function perRequest(r, o) {
  const out = {};
  for (const [k, us] of Object.entries(o)) out[k] = (us / r.busyUs) * r.cpuUsPerReq;
  return out;
}

export async function profileH2(backendPort) {
  const tmp = makeTempDir('turnout-h2-profile-');
  const out = {};
  try {
    for (const name of ['floor', 'turnout']) {
      progress(`${name} under --cpu-prof: h2load -D ${DURATION_S} -c 4 -m 25`);
      out[name] = await profileOne(name, tmp, backendPort);
    }
  } finally {
    removeTempDir(tmp);
  }
  return out;
}

function report(res, machine) {
  const f = res.floor;
  const t = res.turnout;
  const fa = perRequest(f, f.areas);
  const ta = perRequest(t, t.areas);
  const areas = [...new Set([...Object.keys(fa), ...Object.keys(ta)])].sort((a, b) => (ta[b] ?? 0) - (ta[a] ?? 0));
  const md = [];
  md.push(`# HTTP/2 CPU profile: turnout against the floor (\`node bench/h2-profile.mjs\`, ${machine.date.slice(0, 16).replace('T', ' ')} UTC)`);
  md.push('');
  md.push(
    `${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, commit ${machine.commit ?? '?'}${machine.srcDirty ? ' (src/ dirty)' : ''}; load average at start ${machine.loadAvgAtStart.join(' ')}. ` +
      `h2load -c 4 -m 25 for ${DURATION_S} s each, 1 KiB answers, both under \`--cpu-prof\` (the profiler's cost is in the figures: compare the two, not with bench:h2). ` +
      `turnout: data plane in the profiled process (bench/inproc-turnout.mjs), upstream HTTP/1.1.`,
  );
  md.push('');
  md.push(`floor: ${f.requests} requests, ${f.cpuUsPerReq.toFixed(0)} µs/req; turnout: ${t.requests} requests, ${t.cpuUsPerReq.toFixed(0)} µs/req (${(t.cpuUsPerReq / f.cpuUsPerReq).toFixed(2)}x).`);
  md.push('');
  md.push('**Self time by area, µs per request** (an area\'s share of the busy samples × the process\'s CPU µs/req)');
  md.push('');
  md.push('| area | floor µs/req | turnout µs/req | turnout − floor |');
  md.push('|---|---:|---:|---:|');
  for (const a of areas) md.push(`| ${a} | ${(fa[a] ?? 0).toFixed(1)} | ${(ta[a] ?? 0).toFixed(1)} | ${((ta[a] ?? 0) - (fa[a] ?? 0)).toFixed(1)} |`);
  md.push(`| **total** | ${f.cpuUsPerReq.toFixed(1)} | ${t.cpuUsPerReq.toFixed(1)} | ${(t.cpuUsPerReq - f.cpuUsPerReq).toFixed(1)} |`);
  for (const [name, r] of [['floor', f], ['turnout', t]]) {
    const per = perRequest(r, r.fns);
    md.push('');
    md.push(`**${name}: top ${TOP} functions by self time** (µs per request)`);
    md.push('');
    md.push('| function | µs/req | % busy |');
    md.push('|---|---:|---:|');
    for (const [k, us] of Object.entries(per).sort((a, b) => b[1] - a[1]).slice(0, TOP)) md.push(`| \`${k}\` | ${us.toFixed(1)} | ${((100 * us) / r.cpuUsPerReq).toFixed(1)} % |`);
  }
  return `${md.join('\n')}\n`;
}

export function writeH2Profile(res) {
  const machine = machineInfo();
  const slim = (r) => ({
    requests: r.requests,
    cpuUsPerReq: r.cpuUsPerReq,
    busyMs: Math.round(r.busyUs / 1000),
    areasUsPerReq: Object.fromEntries(Object.entries(perRequest(r, r.areas)).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number(v.toFixed(1))])),
    topFunctionsUsPerReq: Object.fromEntries(Object.entries(perRequest(r, r.fns)).sort((a, b) => b[1] - a[1]).slice(0, 30).map(([k, v]) => [k, Number(v.toFixed(1))])),
  });
  writeResult('h2-profile.json', { machine, durationS: DURATION_S, floor: slim(res.floor), turnout: slim(res.turnout) });
  const md = report(res, machine);
  writeFileSync(path.join(RESULTS_DIR, 'h2-profile.md'), md);
  return md;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const backendPort = await freePort();
  const backend = await startBackend([backendPort], 1024);
  try {
    const res = await profileH2(backendPort);
    process.stdout.write(writeH2Profile(res));
    process.stdout.write(`results: ${path.relative(ROOT, path.join(RESULTS_DIR, 'h2-profile.md'))}\n`);
  } finally {
    await stopChild(backend);
    await stopAll();
  }
}
