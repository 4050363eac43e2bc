// Proxy throughput: autocannon (in this process) against a direct backend, turnout, the Node floor
// (bench/floor.mjs), two bare Node proxies, nginx and HAProxy, at two response sizes, in
// interleaved rounds; CPU per request of each proxy; the engine's acceptance goals.
//
//   npm run bench                      (builds first)
//   BENCH_DURATION=5 BENCH_ROUNDS=3 node bench/run.mjs
//
// Env: BENCH_DURATION (s per run, default 5), BENCH_ROUNDS (default 3), BENCH_WARMUP (s per target
// before round 1, default 1), BENCH_CONNECTIONS (default 50), BENCH_SIZES (bytes, default
// "1024,65536"), BENCH_TARGETS (comma list to run a subset), BENCH_OUT (result file name, default
// latest.json), BENCH_WORKERS (turnout's worker processes, default 1), BENCH_PROFILE=1 (then run
// bench/profile.mjs: a CPU profile of turnout), BENCH_SOAK_MINUTES (default 0: after the fresh
// rounds of each size in BENCH_SOAK_SIZES (default 65536), every target takes that many minutes of
// load at once, then the rounds run again on the same, now warm, processes: a second result group
// "<size> after N min"). A proxy's CPU is its whole process tree's
// (lib.mjs cpuTree): turnout's supervisor + workers, nginx's master + worker.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ratioOver,
  HOST,
  cannon,
  cpuSeconds,
  cpuTree,
  cpuTreeDelta,
  ensureCommand,
  fmt,
  machineBusySeconds,
  freePort,
  machineInfo,
  makeTempDir,
  median,
  progress,
  removeTempDir,
  sleep,
  startBackend,
  startChild,
  startNginx,
  startTurnout,
  stopChild,
  summarize,
  table,
  turnoutBenchConfig,
  waitForHttp,
  writeResult,
  writeTurnoutConfig,
  BENCH_DIR,
  ROOT,
} from './lib.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SIZES = (process.env.BENCH_SIZES ?? '1024,65536').split(',').map(Number);
const ONLY = process.env.BENCH_TARGETS ? new Set(process.env.BENCH_TARGETS.split(',').map((s) => s.trim())) : undefined;
const OUT = process.env.BENCH_OUT ?? 'latest.json';
// turnout serve = a supervisor + this many worker processes (turnout's default is 1); the proxy's CPU
// is the whole process tree's. bench/workers.mjs compares 1 and 2.
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const SOAK_MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 0);
const SOAK_SIZES = (process.env.BENCH_SOAK_SIZES ?? '65536').split(',').map(Number);

// The engine's acceptance figures (issue: HTTP/1.1 forwarding engine on raw sockets). Each is a
// ratio of turnout to a peer, computed from this run's medians, at each response size.
const GOALS = {
  nginxRps: { 1024: 0.85, 65536: 0.9 }, // turnout req/s >= x * nginx req/s (only at these sizes)
  floorRps: 0.85, // turnout req/s >= 0.85 * floor req/s
  nginxCpu: 1.8, // turnout CPU µs/req <= 1.8 * nginx CPU µs/req
  nginxP99: 1.5, // turnout p99 <= 1.5 * nginx p99
  undiciRps: 1.5, // turnout req/s >= 1.5 * bare-undici req/s
  largeNginxCpu: 1.5, // 64 KiB: turnout CPU µs/req <= 1.5 * nginx's (issue 17, fresh and warm)
  largeNginxRps: 0.8, // 64 KiB: turnout req/s >= 0.8 * nginx's (issue 17, fresh and warm)
};

/** Result groups in the order measured: one per size, and one per warm-soaked size. */
const groups = [];
const results = {};
const runs = {};

const ALL_TARGETS = ['direct', 'turnout', 'turnout-2b', 'floor', 'bare-http-proxy', 'bare-undici', 'nginx', 'haproxy'];
const sizeLabel = (n) => (n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`);

function haproxyConfig(port, backendPorts) {
  return `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 65s
  option http-keep-alive
  option forwardfor
frontend fe
  bind ${HOST}:${port}
  default_backend be
backend be
  balance roundrobin
${backendPorts.map((p, i) => `  server s${i + 1} ${HOST}:${p}`).join('\n')}
`;
}

async function startTarget(name, backendPorts, tmp) {
  const [p1, p2] = backendPorts;
  switch (name) {
    case 'direct':
      return { url: `http://${HOST}:${p1}/` };
    case 'turnout':
    case 'turnout-2b': {
      const port = await freePort();
      const adminPort = await freePort();
      const backends = name === 'turnout' ? [p1] : [p1, p2];
      const file = writeTurnoutConfig(tmp, `${name}.yaml`, turnoutBenchConfig(port, adminPort, backends));
      const child = await startTurnout(file, adminPort, { workers: WORKERS });
      child.name = name;
      return { url: `http://${HOST}:${port}/`, child };
    }
    case 'floor':
    case 'bare-http-proxy':
    case 'bare-undici': {
      const port = await freePort();
      const child = startChild(name, process.execPath, [path.join(BENCH_DIR, `${name}.mjs`), '--port', String(port), '--backends', `http://${HOST}:${p1}`], {
        env: { NODE_ENV: 'production' },
      });
      return { url: `http://${HOST}:${port}/`, child };
    }
    case 'nginx': {
      const port = await freePort();
      const child = startNginx(tmp, port, { '/': [p1] });
      return { url: `http://${HOST}:${port}/`, child };
    }
    case 'haproxy': {
      const port = await freePort();
      const conf = path.join(tmp, 'haproxy.cfg');
      writeFileSync(conf, haproxyConfig(port, [p1]));
      const child = startChild('haproxy', 'haproxy', ['-f', conf, '-db']);
      return { url: `http://${HOST}:${port}/`, child };
    }
    default:
      throw new Error(`unknown target ${name}`);
  }
}

/** One GET through the target: 200 and exactly `size` bytes, or throw. */
async function checkTarget(name, url, size) {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200 || body.length !== size) throw new Error(`${name}: sanity GET ${url} answered ${res.status} with ${body.length} bytes (expected 200, ${size})`);
}

// -------------------------------------------------------------------------------------------------

/** ROUNDS interleaved measured runs of every target at `size`, as result group `label`. */
async function runRounds(label, size, started, backend) {
  const targets = Object.keys(started);
  runs[label] = Object.fromEntries(targets.map((t) => [t, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no target always runs right after the same neighbour.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (let k = 0; k < order.length; k++) {
      const t = order[k];
      const target = started[t];
      const pid = target.child?.pid;
      const cpu0 = pid ? cpuTree(pid) : undefined;
      const bcpu0 = cpuSeconds(backend.pid);
      const self0 = process.cpuUsage();
      const busy0 = machineBusySeconds();
      const t0 = performance.now();
      const r = await cannon({ url: target.url, connections: CONNECTIONS, duration: DURATION });
      const wall = (performance.now() - t0) / 1000;
      const self = process.cpuUsage(self0);
      const busy = machineBusySeconds() - busy0;
      const s = summarize(r);
      const cpuD = pid ? cpuTreeDelta(cpu0, cpuTree(pid)) : undefined;
      const proxyCpuS = cpuD?.total;
      // turnout: the supervisor's part of it (accepts, hands connections over, replays the
      // workers' outcome records); nginx: its master's.
      s.proxyRootCpuS = cpuD?.root;
      s.proxyPids = cpuD?.pidsAtEnd.length;
      s.proxyCpuPct = pid ? (proxyCpuS / wall) * 100 : undefined;
      s.backendCpuPct = ((cpuSeconds(backend.pid) - bcpu0) / wall) * 100;
      s.loadgenCpuPct = ((self.user + self.system) / 1e6 / wall) * 100;
      // Everything else the machine did meanwhile (other people's work): contaminates the figure.
      s.otherCpuPct = Math.max(0, (busy / wall) * 100 - (s.proxyCpuPct ?? 0) - s.backendCpuPct - s.loadgenCpuPct);
      // CPU time of the proxy's process group per request served (and its inverse): much less
      // sensitive to other load on the machine than req/s.
      s.cpuUsPerReq = pid && proxyCpuS > 0 && s.requests > 0 ? (proxyCpuS / s.requests) * 1e6 : undefined;
      s.reqPerProxyCpuS = s.cpuUsPerReq === undefined ? undefined : 1e6 / s.cpuUsPerReq;
      runs[label][t].push(s);
      const bad = s.errors + s.non2xx + s.timeouts > 0 ? `  ERRORS ${s.errors} non-2xx ${s.non2xx} timeouts ${s.timeouts}` : '';
      progress(
        `[${label}] round ${round + 1}/${ROUNDS} ${t.padEnd(15)} (${k + 1}/${order.length}): ${fmt.int(s.rps).padStart(7)} req/s  p99 ${fmt.ms(s.p99Ms).padStart(6)} ms  cpu proxy ${s.proxyCpuPct === undefined ? '  -' : s.proxyCpuPct.toFixed(0).padStart(3)} % backend ${s.backendCpuPct.toFixed(0).padStart(3)} % loadgen ${s.loadgenCpuPct.toFixed(0).padStart(3)} % other ${s.otherCpuPct.toFixed(0).padStart(3)} %${bad}`,
      );
      await sleep(100);
    }
  }
  results[label] = {};
  for (const t of targets) {
    const rs = runs[label][t];
    results[label][t] = {
      rps: median(rs.map((x) => x.rps)),
      p99Ms: median(rs.map((x) => x.p99Ms)),
      p50Ms: median(rs.map((x) => x.p50Ms)),
      errors: rs.reduce((a, x) => a + x.errors, 0),
      timeouts: rs.reduce((a, x) => a + x.timeouts, 0),
      non2xx: rs.reduce((a, x) => a + x.non2xx, 0),
      requests: rs.reduce((a, x) => a + x.requests, 0),
      proxyCpuPct: median(rs.map((x) => x.proxyCpuPct)),
      backendCpuPct: median(rs.map((x) => x.backendCpuPct)),
      loadgenCpuPct: median(rs.map((x) => x.loadgenCpuPct)),
      otherCpuPct: median(rs.map((x) => x.otherCpuPct)),
      reqPerProxyCpuS: median(rs.map((x) => x.reqPerProxyCpuS)),
      cpuUsPerReq: median(rs.map((x) => x.cpuUsPerReq)),
      rounds: rs.map((x) => Math.round(x.rps)),
    };
  }
  groups.push({ label, size });
}

async function main() {
  const notes = [
    `load generator (autocannon, in the bench process), backend and proxy share the machine's ${machineInfo().cpus} CPU cores: absolute figures are lower than on separate machines, and a proxy's CPU use takes cores away from the backend and the load generator.`,
  ];
  let targets = ALL_TARGETS.filter((t) => ONLY === undefined || ONLY.has(t));
  if (targets.includes('nginx') && !ensureCommand('nginx', 'nginx', notes)) targets = targets.filter((t) => t !== 'nginx');
  if (targets.includes('haproxy') && !ensureCommand('haproxy', 'haproxy', notes)) targets = targets.filter((t) => t !== 'haproxy');

  const machine = machineInfo();
  const perRun = targets.length * SIZES.length * (ROUNDS * DURATION + WARMUP);
  progress(`turnout proxy bench: targets ${targets.join(', ')}; sizes ${SIZES.map(sizeLabel).join(', ')}; ${ROUNDS} rounds x ${DURATION}s, ${CONNECTIONS} connections; about ${Math.ceil(perRun / 60)} min of load`);
  progress(`machine: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, load average ${machine.loadAvgAtStart.join(' ')}`);

  const turnoutLogs = {};
  for (const size of SIZES) {
    const label = sizeLabel(size);
    const tmp = makeTempDir();
    const backendPorts = [await freePort(), await freePort()];
    const backend = await startBackend(backendPorts, size);
    const started = {};
    try {
      for (const t of targets) {
        started[t] = await startTarget(t, backendPorts, tmp);
        if (started[t].child) await waitForHttp(started[t].url, { child: started[t].child, timeoutMs: 20000 });
        await checkTarget(t, started[t].url, size);
      }
      if (WARMUP > 0) {
        for (const t of targets) {
          progress(`[${label}] warm-up ${t} (${WARMUP}s)`);
          await cannon({ url: started[t].url, connections: CONNECTIONS, duration: WARMUP });
        }
      }
      await runRounds(label, size, started, backend);
      if (SOAK_MINUTES > 0 && SOAK_SIZES.includes(size)) {
        // The same processes after minutes of traffic: what users get after the first hour, not the first minute.
        const soakConns = Math.max(4, Math.floor(CONNECTIONS / targets.length));
        progress(`[${label}] warm soak: ${SOAK_MINUTES} min of load on every target at once (${soakConns} connections each)`);
        await Promise.all(targets.map((t) => cannon({ url: started[t].url, connections: soakConns, duration: SOAK_MINUTES * 60 })));
        await runRounds(`${label} after ${SOAK_MINUTES} min`, size, started, backend);
      }
      for (const t of ['turnout', 'turnout-2b']) {
        if (started[t]?.child) turnoutLogs[`${t} ${label}`] = started[t].child.watched.slice();
      }
    } finally {
      await Promise.all(Object.values(started).map((t) => stopChild(t.child)));
      await stopChild(backend);
      removeTempDir(tmp);
    }
  }

  // --- ratios, goals, report -------------------------------------------------------------------
  const over = ratioOver(results);
  const ratio = (label, a, b) => over(label, a, b, 'rps');
  const cpuRatio = (label, a, b) => over(label, a, b, 'cpuUsPerReq');
  const RPS_RATIOS = ['turnout/nginx', 'turnout/floor', 'turnout/bare-undici', 'turnout/haproxy', 'turnout/bare-http-proxy', 'turnout/direct', 'turnout-2b/turnout', 'floor/nginx'];
  const CPU_RATIOS = ['turnout/nginx', 'turnout/floor', 'turnout/haproxy', 'turnout/bare-undici', 'turnout/bare-http-proxy', 'floor/nginx'];
  const P99_RATIOS = ['turnout/nginx', 'turnout/floor'];
  const split = (k) => k.split('/');
  const ratios = {};
  const cpuPerRequestRatios = {};
  const p99Ratios = {};
  const goals = [];
  for (const { label, size } of groups) {
    ratios[label] = Object.fromEntries(RPS_RATIOS.map((k) => [k, ratio(label, ...split(k))]));
    // Lower is better: turnout's proxy CPU time per request over the peer's.
    cpuPerRequestRatios[label] = Object.fromEntries(CPU_RATIOS.map((k) => [k, cpuRatio(label, ...split(k))]));
    p99Ratios[label] = Object.fromEntries(P99_RATIOS.map((k) => [k, over(label, ...split(k), 'p99Ms')]));
    // Every goal is listed, also when a peer was not run (met: null, "not measured").
    const goal = (text, peer, value, met) => {
      const measured = targets.includes('turnout') && targets.includes(peer) && value !== undefined;
      goals.push({ goal: text, size: label, peer, value: measured ? value : null, met: measured ? met(value) : null });
    };
    const nginxRps = GOALS.nginxRps[size];
    if (nginxRps !== undefined) goal(`turnout >= ${nginxRps}x nginx req/s at ${label}`, 'nginx', ratios[label]['turnout/nginx'], (v) => v >= nginxRps);
    goal(`turnout >= ${GOALS.floorRps}x floor req/s at ${label}`, 'floor', ratios[label]['turnout/floor'], (v) => v >= GOALS.floorRps);
    goal(`turnout CPU µs/req <= ${GOALS.nginxCpu}x nginx's at ${label}`, 'nginx', cpuPerRequestRatios[label]['turnout/nginx'], (v) => v <= GOALS.nginxCpu);
    goal(`turnout p99 <= ${GOALS.nginxP99}x nginx's p99 at ${label}`, 'nginx', p99Ratios[label]['turnout/nginx'], (v) => v <= GOALS.nginxP99);
    goal(`turnout >= ${GOALS.undiciRps}x bare-undici req/s at ${label}`, 'bare-undici', ratios[label]['turnout/bare-undici'], (v) => v >= GOALS.undiciRps);
    if (size === 65536) {
      // Issue 17 ("performance that lasts"): large answers near nginx's cost, fresh and after a warm soak.
      goal(`turnout CPU µs/req <= ${GOALS.largeNginxCpu}x nginx's at ${label}`, 'nginx', cpuPerRequestRatios[label]['turnout/nginx'], (v) => v <= GOALS.largeNginxCpu);
      goal(`turnout >= ${GOALS.largeNginxRps}x nginx req/s at ${label}`, 'nginx', ratios[label]['turnout/nginx'], (v) => v >= GOALS.largeNginxRps);
    }
  }

  const others = Object.values(results).flatMap((r) => Object.values(r).map((x) => x.otherCpuPct));
  const maxOther = Math.max(...others);
  if (maxOther > 15) {
    notes.push(
      `other processes used CPU during the run (median "other CPU" per target up to ${maxOther.toFixed(0)} % of one core, of the ${machine.cpus * 100} % the machine has): req/s figures are depressed and noisy; the CPU µs/req column is the steadier comparison.`,
    );
  }

  // A peer that failed requests is not a fair reference: say so next to its ratios.
  for (const label of Object.keys(results)) {
    for (const t of targets) {
      const r = results[label][t];
      if (!t.startsWith('turnout') && r.errors + r.timeouts + r.non2xx > 0) {
        notes.push(`${t} at ${label}: ${r.errors + r.timeouts} errors/timeouts, ${r.non2xx} non-2xx over ${r.requests} requests: ratios against it are not comparable`);
      }
    }
    const p99 = results[label].nginx?.p99Ms;
    if (p99 !== undefined && p99 <= 5) {
      notes.push(`nginx p99 at ${label} is ${fmt.ms(p99)} ms: autocannon reports latency in whole ms, so the p99 ratio moves in big steps at this scale`);
    }
  }

  const turnoutProblems = [];
  for (const label of Object.keys(runs)) {
    for (const t of ['turnout', 'turnout-2b']) {
      (runs[label][t] ?? []).forEach((s, i) => {
        if (s.errors + s.non2xx + s.timeouts > 0) turnoutProblems.push(`${t} ${label} round ${i + 1}: ${s.errors} errors, ${s.non2xx} non-2xx, ${s.timeouts} timeouts of ${s.requests} requests`);
      });
    }
  }
  for (const [k, lines] of Object.entries(turnoutLogs)) if (lines.length > 0) turnoutProblems.push(`${k}: ${lines.length} warn/error log lines, first: ${lines[0]}`);

  const doc = {
    bench: 'proxy throughput (bench/run.mjs)',
    machine,
    settings: { durationS: DURATION, rounds: ROUNDS, warmupS: WARMUP, connections: CONNECTIONS, pipelining: 1, sizes: SIZES, targets, turnoutWorkers: WORKERS, soakMinutes: SOAK_MINUTES, soakSizes: SOAK_MINUTES > 0 ? SOAK_SIZES : [] },
    groups: groups.map((g) => g.label),
    notes,
    results,
    ratios,
    cpuPerRequestRatios,
    p99Ratios,
    goalThresholds: GOALS,
    goals,
    turnoutProblems,
    turnoutLogLines: turnoutLogs,
    runs,
  };
  const file = writeResult(OUT, doc);

  const out = [];
  out.push('');
  out.push(`turnout proxy throughput — ${machine.date} — node ${machine.node}, ${machine.cpus} x ${machine.cpuModel}`);
  out.push(`${CONNECTIONS} connections, ${ROUNDS} interleaved rounds x ${DURATION}s per target; median of rounds. CPU % = percent of one core.`);
  for (const { label } of groups) {
    const rows = [['target', 'req/s', 'p99 ms', 'p50 ms', 'errors', 'non-2xx', 'proxy CPU', 'CPU µs/req', 'backend CPU', 'loadgen CPU', 'other CPU', 'vs direct', 'rounds req/s']];
    for (const t of targets) {
      const r = results[label][t];
      rows.push([
        t,
        fmt.int(r.rps),
        fmt.ms(r.p99Ms),
        fmt.ms(r.p50Ms),
        String(r.errors + r.timeouts),
        String(r.non2xx),
        r.proxyCpuPct === undefined ? '-' : `${r.proxyCpuPct.toFixed(0)} %`,
        r.cpuUsPerReq === undefined ? '-' : r.cpuUsPerReq.toFixed(0),
        `${r.backendCpuPct.toFixed(0)} %`,
        `${r.loadgenCpuPct.toFixed(0)} %`,
        `${r.otherCpuPct.toFixed(0)} %`,
        fmt.ratio(ratio(label, t, 'direct')),
        r.rounds.map((x) => fmt.int(x)).join(' / '),
      ]);
    }
    out.push('');
    out.push(`${label} responses`);
    out.push(table(rows));
  }
  const ratioTable = (title, table_, keys, goalText) => {
    const rows = [[title, ...groups.map((g) => g.label), 'goal']];
    for (const k of keys) {
      const xs = groups.map((g) => table_[g.label][k]);
      if (xs.some((x) => x !== undefined) || goalText[k]) rows.push([k, ...xs.map(fmt.ratio), goalText[k] ?? '']);
    }
    out.push('');
    out.push(table(rows));
  };
  const nginxRpsGoal = Object.entries(GOALS.nginxRps)
    .map(([sz, x]) => `>= ${x}x at ${sizeLabel(Number(sz))}`)
    .join(', ');
  ratioTable('ratio of req/s', ratios, RPS_RATIOS, {
    'turnout/nginx': nginxRpsGoal,
    'turnout/floor': `>= ${GOALS.floorRps}x`,
    'turnout/bare-undici': `>= ${GOALS.undiciRps}x`,
  });
  ratioTable('ratio of CPU µs/req (lower: turnout cheaper)', cpuPerRequestRatios, CPU_RATIOS, { 'turnout/nginx': `<= ${GOALS.nginxCpu}x` });
  ratioTable('ratio of p99 latency', p99Ratios, P99_RATIOS, { 'turnout/nginx': `<= ${GOALS.nginxP99}x` });
  out.push('');
  out.push('Goals (engine acceptance figures, from this run\'s medians):');
  for (const g of goals) {
    const status = g.met === null ? 'NOT MEASURED' : g.met ? 'MET' : 'NOT MET';
    out.push(`${status.padEnd(12)}  ${g.goal}: ${g.met === null ? `${g.peer} or turnout not in this run` : fmt.ratio(g.value)}`);
  }
  out.push('');
  if (turnoutProblems.length > 0) {
    out.push('TURNOUT ERRORS / NON-2XX:');
    for (const p of turnoutProblems) out.push(`  ${p}`);
  } else {
    out.push('turnout: no errors, no non-2xx, no warn/error log lines.');
  }
  for (const n of notes) out.push(`note: ${n}`);
  out.push(`results: ${path.relative(ROOT, file)}`);
  process.stdout.write(`${out.join('\n')}\n`);

  if (process.env.BENCH_PROFILE === '1') {
    // A CPU profile of turnout under the same kind of load, once everything above has stopped.
    progress('BENCH_PROFILE=1: running bench/profile.mjs');
    const r = spawnSync(process.execPath, [path.join(BENCH_DIR, 'profile.mjs')], { stdio: 'inherit', timeout: (DURATION + 180) * 1000 });
    if (r.status !== 0) {
      process.stderr.write(`bench/profile.mjs failed (${r.error?.message ?? r.signal ?? `exit ${r.status}`})\n`);
      process.exitCode = 1;
    }
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
