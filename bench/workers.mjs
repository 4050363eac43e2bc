// Workers: 1, 2 and 4. `turnout serve` is a supervisor (admin API, store, health checks) and N worker
// processes serving the data plane, each accepting on a SO_REUSEPORT listening socket of its own
// (Node >= 22.12; w1h: the hand-off fallback, where the supervisor accepts and hands each
// connection over IPC). This bench puts the same backend behind turnout with --workers 1, 2, 4,
// the hand-off, and (reference) the data plane in one process, and measures per target: req/s, p50/p99, CPU µs per request of
// turnout's whole process tree and of the supervisor alone, and how the connections spread over
// the workers (GET /v1/fleet: connections.total per worker, max/min).
//
//   npm run bench:workers                       (builds first)
//   BENCH_DURATION=2 BENCH_ROUNDS=1 node bench/workers.mjs
//
// Variants (BENCH_VARIANTS, default all three):
//   keepalive  the load generator (bench/loadgen.mjs: autocannon, 50 keep-alive connections) as a
//              child process, nothing pinned: the issue's acceptance figure comes from this one.
//   pinned     the same load with processes pinned to cores by `taskset` (BENCH_PIN, default
//              "loadgen=0,backend=0": load generator and backend on core 0, turnout free to use both;
//              see the README for why).
//   close      a new connection per request (loadgen.mjs's raw loop, Connection: close,
//              BENCH_CLOSE_CONNECTIONS concurrent loops): what accepting a connection and handing
//              it to a worker costs, and how thousands of connections spread over the workers.
//
// Env: BENCH_DURATION (s per run, 5), BENCH_ROUNDS (3), BENCH_WARMUP (s per target and variant
// before round 1, 1), BENCH_CONNECTIONS (50), BENCH_CLOSE_CONNECTIONS (20), BENCH_SIZE (response
// bytes, 1024), BENCH_TARGETS (subset of direct,inproc,w1,w2,w4,w1h,hfloor), BENCH_VARIANTS, BENCH_PIN,
// BENCH_IDLE (s of idle CPU per turnout target, 2; 0 skips), BENCH_OUT (workers.json).
// Every load is bounded in time (duration, and the loadgen child is killed at duration + 30 s) and
// in count (BENCH_MAX_REQUESTS per run, default 100,000 x duration); everything on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ratioOver,
  ADMIN_TOKEN,
  BENCH_DIR,
  HOST,
  ROOT,
  cpuSeconds,
  cpuTree,
  cpuTreeDelta,
  coreBusySeconds,
  fmt,
  freePort,
  machineBusySeconds,
  machineInfo,
  makeTempDir,
  median,
  processTree,
  progress,
  removeTempDir,
  sleep,
  startBackend,
  startChild,
  startTurnout,
  stopChild,
  table,
  turnoutBenchConfig,
  waitForHttp,
  writeResult,
  writeTurnoutConfig,
} from './lib.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const CLOSE_CONNECTIONS = Number(process.env.BENCH_CLOSE_CONNECTIONS ?? 20);
const SIZE = Number(process.env.BENCH_SIZE ?? 1024);
const IDLE = Number(process.env.BENCH_IDLE ?? 5);
const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 100_000 * DURATION);
const PIN = process.env.BENCH_PIN ?? 'loadgen=0,backend=0';
const OUT = process.env.BENCH_OUT ?? 'workers.json';
const ALL_TARGETS = ['direct', 'inproc', 'w1', 'w2', 'w4', 'w1h', 'hfloor'];
/** Worker counts of the `turnout serve` targets. */
const WORKERS = { w1: 1, w2: 2, w4: 4, w1h: 1 };
/** Targets that only make sense with a new connection per request. */
const CLOSE_ONLY = new Set(['hfloor']);
const TARGETS = (process.env.BENCH_TARGETS ?? ALL_TARGETS.join(',')).split(',').map((s) => s.trim()).filter((t) => ALL_TARGETS.includes(t));
const ALL_VARIANTS = ['keepalive', 'pinned', 'close'];
const VARIANTS = (process.env.BENCH_VARIANTS ?? ALL_VARIANTS.join(',')).split(',').map((s) => s.trim()).filter((v) => ALL_VARIANTS.includes(v));
/** Acceptance (issue, point 4): turnout's CPU per request with 2 workers within 10 % of 1 worker's. */
const GOAL_CPU_RATIO = 1.1;

const DESCRIPTION = {
  direct: 'the backend itself (no proxy)',
  inproc: 'turnout, data plane in one process (no supervisor; reference)',
  w1: 'turnout serve --workers 1 (supervisor + 1 worker)',
  w2: 'turnout serve --workers 2 (supervisor + 2 workers)',
  w4: 'turnout serve --workers 4 (supervisor + 4 workers; the spread over 4)',
  w1h: 'turnout serve --workers 1 with TURNOUT_ACCEPTOR=handoff (the supervisor accepts and hands each connection over: the Node 20 fallback)',
  hfloor: 'hand-off floor (bench/handoff-floor.mjs): accept + hand over IPC to 1 child that answers; no proxying (close variant only)',
};
const ALL_CPUS = `0-${os.cpus().length - 1}`;
const targetsOf = (variant) => TARGETS.filter((t) => variant === 'close' || !CLOSE_ONLY.has(t));

function has(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** "loadgen=0,backend=0,turnout=1" → { loadgen: '0', backend: '0', turnout: '1' } (roles: loadgen, backend, turnout, supervisor, workers). */
function parsePin(spec) {
  const pin = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [role, cpus] = part.split('=');
    if (!['loadgen', 'backend', 'turnout', 'supervisor', 'workers'].includes(role) || !/^[\d,-]+$/.test(cpus ?? '')) throw new Error(`BENCH_PIN: cannot read "${part}" (want role=cpus, roles loadgen, backend, turnout, supervisor, workers)`);
    pin[role] = cpus;
  }
  return pin;
}

/** Sets the CPU affinity of every thread of `pid` (taskset -a -p -c). */
function setAffinity(pid, cpus) {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** Pins the backend and every turnout process as `pin` says (unnamed roles: all cores). */
function applyPin(pin, backend, started) {
  const applied = [];
  for (const p of processTree(backend.pid)) setAffinity(p, pin.backend ?? ALL_CPUS);
  applied.push(`backend ${pin.backend ?? ALL_CPUS}`);
  for (const t of Object.values(started)) {
    if (t.child === undefined) continue;
    const [root, ...workers] = processTree(t.child.pid);
    if (t.name === 'inproc') {
      setAffinity(root, pin.turnout ?? pin.workers ?? ALL_CPUS);
      continue;
    }
    setAffinity(root, pin.supervisor ?? pin.turnout ?? ALL_CPUS);
    for (const w of workers) setAffinity(w, pin.workers ?? pin.turnout ?? ALL_CPUS);
  }
  applied.push(`turnout supervisor ${pin.supervisor ?? pin.turnout ?? ALL_CPUS}, workers ${pin.workers ?? pin.turnout ?? ALL_CPUS} (in-process: ${pin.turnout ?? pin.workers ?? ALL_CPUS})`);
  applied.push(`loadgen ${pin.loadgen ?? ALL_CPUS}`);
  return applied.join('; ');
}

/**
 * Runs bench/loadgen.mjs as a child (under `taskset -c cpus` when given) and resolves with its
 * JSON line. Killed if it overruns the duration by 30 s.
 */
async function runLoadgen({ url, mode, connections, durationS, cpus }) {
  const args = [path.join(BENCH_DIR, 'loadgen.mjs'), '--url', url, '--mode', mode, '--connections', String(connections), '--duration', String(durationS), '--max', String(MAX_REQUESTS), '--size', String(SIZE)];
  const child = cpus === undefined ? startChild('loadgen', process.execPath, args, { env: { NODE_ENV: 'production' } }) : startChild('loadgen', 'taskset', ['-c', cpus, process.execPath, ...args], { env: { NODE_ENV: 'production' } });
  const kill = setTimeout(() => void stopChild(child, 1000), (durationS + 30) * 1000);
  const { code, signal } = await child.exited;
  clearTimeout(kill);
  const line = child
    .output()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (code !== 0 || line === undefined) throw new Error(`loadgen ${mode} ${url} failed (${signal ?? `exit ${code}`}):\n${child.output().slice(-3000)}`);
  return JSON.parse(line);
}

/**
 * Context switches so far of every thread of `pid` and its descendants: voluntary (it waited: for
 * I/O, epoll) and involuntary (preempted: something else wanted the core). Per request, the second
 * says how much a target was squeezed by the other processes on the machine.
 */
function contextSwitches(pid) {
  const out = { voluntary: 0, involuntary: 0 };
  for (const p of processTree(pid)) {
    let tids;
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const st = readFileSync(`/proc/${p}/task/${tid}/status`, 'utf8');
        out.voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
        out.involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
      } catch {
        // thread gone
      }
    }
  }
  return out;
}

/** connections.total per worker pid, from GET /v1/fleet (undefined for the in-process target). */
async function fleetConnections(adminPort) {
  const res = await fetch(`http://${HOST}:${adminPort}/v1/fleet`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: AbortSignal.timeout(5000) });
  const body = await res.json();
  const workers = body.instances?.[0]?.workers;
  if (workers === undefined) return undefined;
  return Object.fromEntries(workers.map((w) => [w.pid, { total: w.connections.total, open: w.connections.open, state: w.state, generation: w.generation }]));
}

const maxMin = (xs) => {
  const v = xs.filter((x) => typeof x === 'number');
  if (v.length < 2) return undefined;
  const lo = Math.min(...v);
  return lo > 0 ? Math.max(...v) / lo : Infinity;
};

async function startTarget(name, backendPort, tmp) {
  if (name === 'direct') return { name, url: `http://${HOST}:${backendPort}/` };
  if (name === 'hfloor') {
    const port = await freePort();
    const child = startChild('hfloor', process.execPath, [path.join(BENCH_DIR, 'handoff-floor.mjs'), '--port', String(port), '--children', '1', '--size', String(SIZE)], { env: { NODE_ENV: 'production' } });
    const url = `http://${HOST}:${port}/`;
    await waitForHttp(url, { child, timeoutMs: 20000 });
    return { name, url, child };
  }
  const port = await freePort();
  const adminPort = await freePort();
  const file = writeTurnoutConfig(tmp, `${name}.yaml`, turnoutBenchConfig(port, adminPort, [backendPort]));
  const child = await startTurnout(file, adminPort, name === 'inproc' ? { inProcess: true } : { workers: WORKERS[name], env: name === 'w1h' ? { TURNOUT_ACCEPTOR: 'handoff' } : {} });
  child.name = name;
  const url = `http://${HOST}:${port}/`;
  await waitForHttp(url, { child, timeoutMs: 20000 });
  return { name, url, child, adminPort };
}

/** CPU of a turnout target with no traffic (the workers' 50 ms reports, the supervisor's timers). */
async function idleCpu(target) {
  const c0 = cpuTree(target.child.pid);
  const w0 = performance.now();
  await sleep(IDLE * 1000);
  const wall = (performance.now() - w0) / 1000;
  const d = cpuTreeDelta(c0, cpuTree(target.child.pid));
  return { windowS: wall, totalPct: (d.total / wall) * 100, supervisorPct: (d.root / wall) * 100, workersPct: (d.others / wall) * 100 };
}

/** One measured run of `target` in `variant`. */
async function measure(target, variant, backend, pin) {
  const mode = variant === 'close' ? 'close' : 'keepalive';
  const connections = mode === 'close' ? CLOSE_CONNECTIONS : CONNECTIONS;
  const cpus = variant === 'pinned' ? pin.loadgen : undefined;
  const pid = target.child?.pid;
  const fleet0 = target.adminPort !== undefined && target.name !== 'inproc' ? await fleetConnections(target.adminPort) : undefined;
  const t0cpu = pid ? cpuTree(pid) : undefined;
  const x0 = pid ? contextSwitches(pid) : undefined;
  const b0 = cpuSeconds(backend.pid);
  const m0 = machineBusySeconds();
  const k0 = coreBusySeconds();
  const w0 = performance.now();
  const r = await runLoadgen({ url: target.url, mode, connections, durationS: DURATION, cpus });
  const wall = (performance.now() - w0) / 1000;
  const busy = machineBusySeconds() - m0;
  const k1 = coreBusySeconds();
  const backendS = cpuSeconds(backend.pid) - b0;
  const d = pid ? cpuTreeDelta(t0cpu, cpuTree(pid)) : undefined;
  const x1 = pid ? contextSwitches(pid) : undefined;
  const fleet1 = fleet0 !== undefined ? await fleetConnections(target.adminPort) : undefined;
  const n = r.requests;
  const per = (s) => (s === undefined || n === 0 ? undefined : (s / n) * 1e6);
  const pct = (s) => (s === undefined ? undefined : (s / wall) * 100);
  const s = {
    rps: r.rps,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    maxMs: r.maxMs,
    requests: n,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    hitMax: r.hitMax ?? n >= MAX_REQUESTS,
    windowS: wall,
    turnoutCpuS: d?.total,
    supervisorCpuS: target.name === 'inproc' ? undefined : d?.root,
    workersCpuS: target.name === 'inproc' ? undefined : d?.others,
    cpuUsPerReq: per(d?.total),
    supervisorUsPerReq: target.name === 'inproc' ? undefined : per(d?.root),
    // What the traffic added to the supervisor: its CPU in the run less what it spends idle in as long
    // (timers, health checks), per request. /proc counts in 10 ms ticks: a few ticks either way.
    supervisorNetUsPerReq: target.name === 'inproc' || target.idle === undefined ? undefined : per(Math.max(0, (d?.root ?? 0) - (target.idle.supervisorPct / 100) * wall)),
    workersUsPerReq: target.name === 'inproc' ? undefined : per(d?.others),
    supervisorSharePct: d && target.name !== 'inproc' && d.total > 0 ? (d.root / d.total) * 100 : undefined,
    turnoutCpuPct: pct(d?.total),
    backendCpuPct: pct(backendS),
    backendUsPerReq: per(backendS),
    loadgenCpuPct: pct(r.loadgenCpuS),
    otherCpuPct: Math.max(0, (busy / wall) * 100 - (pct(d?.total) ?? 0) - pct(backendS) - pct(r.loadgenCpuS)),
    voluntaryCtxPerReq: x1 && n > 0 ? (x1.voluntary - x0.voluntary) / n : undefined,
    involuntaryCtxPerReq: x1 && n > 0 ? (x1.involuntary - x0.involuntary) / n : undefined,
    // Each core's busy time over the run: both near 100 % means the machine, not turnout, was the limit.
    coreBusyPct: k1.map((x, i) => ((x - (k0[i] ?? 0)) / wall) * 100),
  };
  if (d && target.name !== 'inproc') {
    s.workerCpuS = Object.fromEntries(Object.entries(d.byPid).filter(([p]) => Number(p) !== pid));
    s.workerCpuMaxMin = maxMin(Object.values(s.workerCpuS));
    s.pidsChanged = d.pidsAtStart.join(',') !== d.pidsAtEnd.join(',');
  }
  if (fleet1 !== undefined) {
    // Connections handed to each worker during this run (fleet counts are cumulative).
    s.connectionsByWorker = Object.fromEntries(Object.entries(fleet1).map(([p, w]) => [p, w.total - (fleet0?.[p]?.total ?? 0)]));
    s.connectionsMaxMin = maxMin(Object.values(s.connectionsByWorker));
    s.workersServing = Object.values(fleet1).filter((w) => w.state === 'serving').length;
  }
  return s;
}

function summarizeRuns(rs) {
  const m = (k) => median(rs.map((x) => x[k]));
  const sumBy = (k) => {
    const out = {};
    for (const x of rs) for (const [p, v] of Object.entries(x[k] ?? {})) out[p] = (out[p] ?? 0) + v;
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const conns = sumBy('connectionsByWorker');
  const wcpu = sumBy('workerCpuS');
  return {
    rps: m('rps'),
    p50Ms: m('p50Ms'),
    p99Ms: m('p99Ms'),
    cpuUsPerReq: m('cpuUsPerReq'),
    supervisorUsPerReq: m('supervisorUsPerReq'),
    supervisorNetUsPerReq: m('supervisorNetUsPerReq'),
    workersUsPerReq: m('workersUsPerReq'),
    supervisorSharePct: m('supervisorSharePct'),
    turnoutCpuPct: m('turnoutCpuPct'),
    backendCpuPct: m('backendCpuPct'),
    backendUsPerReq: m('backendUsPerReq'),
    loadgenCpuPct: m('loadgenCpuPct'),
    otherCpuPct: m('otherCpuPct'),
    voluntaryCtxPerReq: m('voluntaryCtxPerReq'),
    involuntaryCtxPerReq: m('involuntaryCtxPerReq'),
    coreBusyPct: (rs[0]?.coreBusyPct ?? []).map((_, i) => median(rs.map((x) => x.coreBusyPct[i]))),
    errors: rs.reduce((a, x) => a + x.errors + x.timeouts, 0),
    non2xx: rs.reduce((a, x) => a + x.non2xx, 0),
    requests: rs.reduce((a, x) => a + x.requests, 0),
    hitMax: rs.some((x) => x.hitMax),
    connectionsByWorker: conns,
    connectionsMaxMin: conns ? maxMin(Object.values(conns)) : undefined,
    workerCpuS: wcpu,
    workerCpuMaxMin: wcpu ? maxMin(Object.values(wcpu)) : undefined,
    pidsChanged: rs.some((x) => x.pidsChanged),
    rounds: rs.map((x) => Math.round(x.rps)),
  };
}

async function main() {
  const machine = machineInfo();
  const notes = [];
  const pin = parsePin(PIN);
  let variants = VARIANTS;
  if (variants.includes('pinned') && !has('taskset')) {
    notes.push('taskset not found (util-linux): the pinned variant was skipped');
    variants = variants.filter((v) => v !== 'pinned');
  }
  if (machine.cpus < 2 && variants.includes('pinned')) {
    notes.push(`${machine.cpus} CPU: nothing to pin apart; the pinned variant was skipped`);
    variants = variants.filter((v) => v !== 'pinned');
  }
  const perRunS = DURATION + 0.5;
  progress(
    `workers bench: targets ${TARGETS.join(', ')}; variants ${variants.join(', ')}; ${ROUNDS} rounds x ${DURATION}s; ${CONNECTIONS} keep-alive connections, ${CLOSE_CONNECTIONS} connect-per-request loops; ${SIZE}-byte answers; about ${Math.ceil((variants.length * TARGETS.length * (ROUNDS * perRunS + WARMUP + 0.5)) / 60)} min of load`,
  );
  progress(`machine: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, load average ${machine.loadAvgAtStart.join(' ')}`);

  const tmp = makeTempDir();
  const backendPort = await freePort();
  const backend = await startBackend([backendPort], SIZE);
  const started = {};
  const runs = {};
  const results = {};
  const idle = {};
  const pinnedAs = {};
  try {
    for (const t of TARGETS) started[t] = await startTarget(t, backendPort, tmp);
    for (const t of TARGETS) {
      const res = await fetch(started[t].url);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || body.length !== SIZE) throw new Error(`${t}: sanity GET answered ${res.status} with ${body.length} bytes (want 200, ${SIZE})`);
    }
    for (const t of Object.keys(WORKERS)) {
      if (!started[t]) continue;
      const f = await fleetConnections(started[t].adminPort);
      const n = Object.keys(f ?? {}).length;
      progress(`${t}: supervisor ${started[t].child.pid}, workers ${Object.keys(f ?? {}).join(', ')} (process tree ${processTree(started[t].child.pid).join(', ')})`);
      if (n !== WORKERS[t]) throw new Error(`${t}: /v1/fleet lists ${n} workers`);
    }
    if (IDLE > 0) {
      for (const t of TARGETS) {
        if (started[t].child === undefined || t === 'hfloor') continue;
        idle[t] = await idleCpu(started[t]);
        started[t].idle = idle[t];
        progress(`${t}: idle ${IDLE}s: ${idle[t].totalPct.toFixed(2)} % of one core (supervisor ${idle[t].supervisorPct.toFixed(2)} %, workers ${idle[t].workersPct.toFixed(2)} %)`);
      }
    }

    for (const variant of variants) {
      const mode = variant === 'close' ? 'close' : 'keepalive';
      pinnedAs[variant] = variant === 'pinned' ? applyPin(pin, backend, started) : 'nothing pinned';
      if (variant === 'pinned') progress(`[pinned] ${pinnedAs[variant]}`);
      try {
        if (WARMUP > 0) {
          for (const t of targetsOf(variant)) {
            progress(`[${variant}] warm-up ${t} (${WARMUP}s)`);
            await runLoadgen({ url: started[t].url, mode, connections: mode === 'close' ? CLOSE_CONNECTIONS : CONNECTIONS, durationS: WARMUP, cpus: variant === 'pinned' ? pin.loadgen : undefined });
          }
        }
        runs[variant] = Object.fromEntries(targetsOf(variant).map((t) => [t, []]));
        for (let round = 0; round < ROUNDS; round++) {
          // Interleaved, the order rotating each round.
          const ts = targetsOf(variant);
          const order = ts.map((_, i) => ts[(i + round) % ts.length]);
          for (const t of order) {
            const s = await measure(started[t], variant, backend, pin);
            runs[variant][t].push(s);
            const bad = s.errors + s.timeouts + s.non2xx > 0 ? `  ERRORS ${s.errors} timeouts ${s.timeouts} non-2xx ${s.non2xx}` : '';
            const conns = s.connectionsByWorker ? `  conns ${Object.values(s.connectionsByWorker).join('/')}` : '';
            progress(
              `[${variant}] round ${round + 1}/${ROUNDS} ${t.padEnd(6)}: ${fmt.int(s.rps).padStart(7)} req/s  p50 ${fmt.ms(s.p50Ms).padStart(5)} p99 ${fmt.ms(s.p99Ms).padStart(5)} ms  turnout ${s.cpuUsPerReq === undefined ? '  -' : s.cpuUsPerReq.toFixed(0).padStart(4)} µs/req (supervisor ${s.supervisorUsPerReq === undefined ? '-' : s.supervisorUsPerReq.toFixed(1)}, net ${s.supervisorNetUsPerReq === undefined ? '-' : s.supervisorNetUsPerReq.toFixed(1)})  cores ${s.coreBusyPct.map((x) => x.toFixed(0)).join('/')} %  other CPU ${s.otherCpuPct.toFixed(0)} %${conns}${bad}`,
            );
            await sleep(100);
          }
        }
        results[variant] = Object.fromEntries(targetsOf(variant).map((t) => [t, summarizeRuns(runs[variant][t])]));
      } finally {
        if (variant === 'pinned') applyPin({}, backend, started);
      }
    }
  } finally {
    await Promise.all(Object.values(started).map((t) => stopChild(t.child)));
    await stopChild(backend);
    removeTempDir(tmp);
  }

  // --- figures ---------------------------------------------------------------------------------
  const over = ratioOver(results);
  const ratios = {};
  for (const v of variants) {
    ratios[v] = {
      'w2/w1 CPU µs/req': over(v, 'w2', 'w1', 'cpuUsPerReq'),
      'w2/w1 req/s': over(v, 'w2', 'w1', 'rps'),
      'w1/inproc CPU µs/req': over(v, 'w1', 'inproc', 'cpuUsPerReq'),
      'w1/inproc req/s': over(v, 'w1', 'inproc', 'rps'),
      'w2/inproc req/s': over(v, 'w2', 'inproc', 'rps'),
      'w4/w1 CPU µs/req': over(v, 'w4', 'w1', 'cpuUsPerReq'),
      'w1h/inproc CPU µs/req': over(v, 'w1h', 'inproc', 'cpuUsPerReq'),
      'w1/w1h CPU µs/req': over(v, 'w1', 'w1h', 'cpuUsPerReq'),
      'w1/hfloor supervisor µs/req': over(v, 'w1', 'hfloor', 'supervisorUsPerReq'),
      'w1/hfloor workers µs/req': over(v, 'w1', 'hfloor', 'workersUsPerReq'),
    };
  }
  const acceptance = {
    goal: `turnout's CPU µs/req with 2 workers <= ${GOAL_CPU_RATIO}x that with 1 worker (keep-alive, nothing pinned)`,
    value: ratios.keepalive?.['w2/w1 CPU µs/req'],
  };
  acceptance.met = acceptance.value === undefined ? null : acceptance.value <= GOAL_CPU_RATIO;
  /** Issue 16, acceptance 3: a connection per request with 1 worker (a socket of its own) within 1.2x the CPU of workers: 0. */
  const closeGoal = { goal: 'a new connection per request: turnout CPU µs/req with 1 worker <= 1.2x that of workers: 0 (close variant)', value: ratios.close?.['w1/inproc CPU µs/req'] };
  closeGoal.met = closeGoal.value === undefined ? null : closeGoal.value <= 1.2;
  /** Issue 16, acceptance 2: the supervisor's CPU per proxied request is ~0 (here: at most 1 µs of it, net of its idle cost, with 1 worker, keep-alive and close alike). */
  const supervisorGoal = {
    goal: "the supervisor's CPU per proxied request, net of its idle cost, <= 1 µs (w1, keep-alive and a connection per request)",
    value: Object.fromEntries(variants.filter((v) => v !== 'pinned').map((v) => [v, results[v]?.w1?.supervisorNetUsPerReq])),
  };
  supervisorGoal.met = Object.values(supervisorGoal.value).some((x) => x === undefined) ? null : Object.values(supervisorGoal.value).every((x) => x <= 1);

  const problems = [];
  for (const v of variants) {
    for (const t of targetsOf(v)) {
      const r = results[v][t];
      if (r.errors + r.non2xx > 0) problems.push(`${v} ${t}: ${r.errors} errors/timeouts, ${r.non2xx} non-2xx`);
      if (r.hitMax) problems.push(`${v} ${t}: a run reached BENCH_MAX_REQUESTS (${MAX_REQUESTS}) before its duration`);
      if (r.pidsChanged) problems.push(`${v} ${t}: turnout's process set changed during a run (a worker exited or was replaced)`);
    }
  }
  for (const t of TARGETS) if (started[t].child?.watched.length > 0) problems.push(`${t}: turnout logged ${started[t].child.watched.length} warn/error lines, first: ${started[t].child.watched[0]}`);
  const others = variants.flatMap((v) => targetsOf(v).map((t) => results[v][t].otherCpuPct)).filter((x) => x !== undefined);
  if (others.length > 0 && Math.max(...others) > 10) {
    notes.push(`other processes used up to ${Math.max(...others).toFixed(0)} % of one core during runs (of the ${machine.cpus * 100} % the machine has): req/s and latency are depressed and noisy; CPU µs/req is the steadier figure`);
  }
  notes.push(
    `load generator (bench/loadgen.mjs, a child process), backend, turnout's supervisor and its workers share the machine's ${machine.cpus} cores: a second worker can only add throughput if a core has idle time, which the other processes mostly take`,
  );

  const doc = {
    bench: 'workers: 1 vs 2 (bench/workers.mjs)',
    machine,
    settings: { durationS: DURATION, rounds: ROUNDS, warmupS: WARMUP, connections: CONNECTIONS, closeConnections: CLOSE_CONNECTIONS, size: SIZE, targets: TARGETS, variants, pin: PIN, pinnedAs, maxRequestsPerRun: MAX_REQUESTS, idleS: IDLE },
    targets: Object.fromEntries(TARGETS.map((t) => [t, DESCRIPTION[t]])),
    idle,
    results,
    ratios,
    acceptance,
    closeGoal,
    supervisorGoal,
    problems,
    notes,
    runs,
  };
  const file = writeResult(OUT, doc);

  // --- report ----------------------------------------------------------------------------------
  const out = [''];
  out.push(`workers: 1 vs 2 — ${machine.date} — node ${machine.node}, ${machine.cpus} x ${machine.cpuModel}, load average at start ${machine.loadAvgAtStart.join(' ')}`);
  out.push(`${ROUNDS} interleaved rounds x ${DURATION}s, median of rounds; ${SIZE}-byte answers. CPU µs/req: turnout's whole process tree (supervisor + workers); "sup." the supervisor alone.`);
  for (const t of TARGETS) out.push(`  ${t.padEnd(6)} ${DESCRIPTION[t]}`);
  if (Object.keys(idle).length > 0) {
    out.push('');
    out.push(`idle (no traffic, ${IDLE}s): ${Object.entries(idle).map(([t, x]) => `${t} ${x.totalPct.toFixed(2)} % of one core (sup. ${x.supervisorPct.toFixed(2)} %)`).join('; ')}`);
  }
  const title = {
    keepalive: `keep-alive, ${CONNECTIONS} connections, nothing pinned`,
    pinned: `keep-alive, ${CONNECTIONS} connections, pinned: ${pinnedAs.pinned ?? ''}`,
    close: `a new connection per request (Connection: close), ${CLOSE_CONNECTIONS} loops, nothing pinned`,
  };
  for (const v of variants) {
    const rows = [['target', 'req/s', 'p50 ms', 'p99 ms', 'err', 'turnout CPU', 'µs/req', 'sup. µs/req', 'sup. net µs/req', 'sup. share', 'workers µs/req', 'ctx sw/req vol/invol', 'backend µs/req', 'loadgen CPU', 'other CPU', 'cores busy', 'conns per worker', 'max/min', 'worker CPU max/min', 'rounds req/s']];
    for (const t of targetsOf(v)) {
      const r = results[v][t];
      rows.push([
        t,
        fmt.int(r.rps),
        fmt.ms(r.p50Ms),
        fmt.ms(r.p99Ms),
        String(r.errors + r.non2xx),
        r.turnoutCpuPct === undefined ? '-' : `${r.turnoutCpuPct.toFixed(0)} %`,
        r.cpuUsPerReq === undefined ? '-' : r.cpuUsPerReq.toFixed(1),
        r.supervisorUsPerReq === undefined ? '-' : r.supervisorUsPerReq.toFixed(1),
        r.supervisorNetUsPerReq === undefined ? '-' : r.supervisorNetUsPerReq.toFixed(1),
        r.supervisorSharePct === undefined ? '-' : `${r.supervisorSharePct.toFixed(0)} %`,
        r.workersUsPerReq === undefined ? '-' : r.workersUsPerReq.toFixed(1),
        r.voluntaryCtxPerReq === undefined ? '-' : `${r.voluntaryCtxPerReq.toFixed(2)}/${r.involuntaryCtxPerReq.toFixed(2)}`,
        r.backendUsPerReq === undefined ? '-' : r.backendUsPerReq.toFixed(1),
        `${r.loadgenCpuPct.toFixed(0)} %`,
        `${r.otherCpuPct.toFixed(0)} %`,
        r.coreBusyPct.map((x) => `${x.toFixed(0)}`).join('/') + ' %',
        r.connectionsByWorker ? Object.values(r.connectionsByWorker).map(fmt.int).join(' / ') : '-',
        fmt.ratio(r.connectionsMaxMin),
        fmt.ratio(r.workerCpuMaxMin),
        r.rounds.map(fmt.int).join(' / '),
      ]);
    }
    out.push('');
    out.push(title[v]);
    out.push(table(rows));
  }
  out.push('');
  const rrows = [['ratio', ...variants]];
  for (const k of Object.keys(ratios[variants[0]] ?? {})) if (variants.some((v) => ratios[v][k] !== undefined)) rrows.push([k, ...variants.map((v) => fmt.ratio(ratios[v][k]))]);
  out.push(table(rrows));
  out.push('');
  out.push(`${acceptance.met === null ? 'NOT MEASURED' : acceptance.met ? 'MET' : 'NOT MET'}  ${acceptance.goal}: ${fmt.ratio(acceptance.value)}`);
  out.push(`${closeGoal.met === null ? 'NOT MEASURED' : closeGoal.met ? 'MET' : 'NOT MET'}  ${closeGoal.goal}: ${fmt.ratio(closeGoal.value)}`);
  out.push(`${supervisorGoal.met === null ? 'NOT MEASURED' : supervisorGoal.met ? 'MET' : 'NOT MET'}  ${supervisorGoal.goal}: ${Object.entries(supervisorGoal.value).map(([v, x]) => `${v} ${x === undefined ? '-' : x.toFixed(2)}`).join(', ')}`);
  if (problems.length > 0) {
    out.push('PROBLEMS:');
    for (const p of problems) out.push(`  ${p}`);
  } else {
    out.push('no errors, no non-2xx, no warn/error log lines, no worker replaced during a run.');
  }
  for (const n of notes) out.push(`note: ${n}`);
  out.push(`results: ${path.relative(ROOT, file)}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
