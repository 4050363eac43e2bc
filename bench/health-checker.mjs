// CPU use of the active health checker: turnout (child process, memory store, no traffic) with one
// service of 200 backends checked every second, against the same config without healthCheck.
// CPU time is read from /proc/<pid>/stat (utime + stime) of turnout's supervisor and its worker
// (lib.mjs cpuTree) before and after the window.
//
//   npm run bench:health        (builds first)
//   HEALTH_WINDOW=20 HEALTH_SETTLE=5 HEALTH_BACKENDS=200 node bench/health-checker.mjs
import path from 'node:path';
import {
  ADMIN_TOKEN,
  HOST,
  backendStats,
  ROOT,
  cpuSeconds,
  cpuTree,
  cpuTreeDelta,
  freePort,
  machineBusySeconds,
  machineInfo,
  makeTempDir,
  processTree,
  progress,
  removeTempDir,
  sleep,
  startBackend,
  startTurnout,
  stopChild,
  table,
  writeResult,
  writeTurnoutConfig,
} from './lib.mjs';

const WINDOW = Number(process.env.HEALTH_WINDOW ?? 20);
const SETTLE = Number(process.env.HEALTH_SETTLE ?? 5);
const BACKENDS = Number(process.env.HEALTH_BACKENDS ?? 200);
const BACKEND_PORTS = Number(process.env.HEALTH_BACKEND_PORTS ?? 4);
const INTERVAL = process.env.HEALTH_INTERVAL ?? '1s';
const GOAL_PCT = 5;

async function measure(name, healthCheck, backendPorts, backend, tmp) {
  const port = await freePort();
  const adminPort = await freePort();
  const file = writeTurnoutConfig(tmp, `${name}.yaml`, {
    listen: { host: HOST, port },
    admin: { host: HOST, port: adminPort },
    state: { store: 'memory' },
    log: { level: 'warn', access: false },
    services: {
      web: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { main: Array.from({ length: BACKENDS }, (_, i) => ({ id: `b-${i}`, url: `http://${HOST}:${backendPorts[i % backendPorts.length]}` })) },
        split: { main: 100 },
        ...(healthCheck ? { healthCheck } : {}),
      },
    },
  });
  progress(`${name}: starting turnout (${BACKENDS} backends${healthCheck ? `, health check every ${healthCheck.interval}` : ', no health check'})`);
  const turnout = await startTurnout(file, adminPort, { workers: 1 });
  try {
    progress(`${name}: settling ${SETTLE}s`);
    await sleep(SETTLE * 1000);
    const health = await healthCounts(adminPort);
    progress(`${name}: backends by health after settling: ${JSON.stringify(health)}; measuring ${WINDOW}s`);
    const s0 = await backendStats(backend);
    const c0 = cpuTree(turnout.pid);
    const b0 = cpuSeconds(backend.pid);
    const m0 = machineBusySeconds();
    const w0 = performance.now();
    await sleep(WINDOW * 1000);
    const wall = (performance.now() - w0) / 1000;
    const cpu = cpuTreeDelta(c0, cpuTree(turnout.pid));
    const cpuPct = (cpu.total / wall) * 100;
    // The checks run in the supervisor; its worker only applies health changes (none here once settled).
    const supervisorPct = (cpu.root / wall) * 100;
    const backendPct = ((cpuSeconds(backend.pid) - b0) / wall) * 100;
    const machinePct = ((machineBusySeconds() - m0) / wall) * 100;
    const s1 = await backendStats(backend);
    const probes = s0 && s1 ? s1.requests - s0.requests : undefined;
    const newConnections = s0 && s1 ? s1.connections - s0.connections : undefined;
    const after = await healthCounts(adminPort);
    const rss = await rssMiB(turnout.pid);
    progress(`${name}: turnout ${cpuPct.toFixed(2)} % of one core (supervisor ${supervisorPct.toFixed(2)} %), backend ${backendPct.toFixed(2)} %, whole machine ${machinePct.toFixed(0)} %; ${probes} probes, ${newConnections} new connections`);
    return { cpuPctOfOneCore: cpuPct, supervisorCpuPct: supervisorPct, processes: cpu.pidsAtEnd.length, probesSeen: probes, probesPerSec: probes === undefined ? undefined : probes / wall, newConnections, backendCpuPct: backendPct, machineBusyPct: machinePct, windowS: wall, healthAfterSettle: health, healthAtEnd: after, rssMiB: rss, warnLines: turnout.watched.slice(0, 20) };
  } finally {
    await stopChild(turnout);
  }
}

async function healthCounts(adminPort) {
  const res = await fetch(`http://${HOST}:${adminPort}/v1/services/web`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const body = await res.json();
  const counts = {};
  for (const p of Object.values(body.service.pools)) for (const b of p.backends) counts[b.health] = (counts[b.health] ?? 0) + 1;
  return counts;
}

/** Resident memory of turnout: its supervisor's and its workers' added up. */
async function rssMiB(pid) {
  const { readFileSync } = await import('node:fs');
  let kb = 0;
  for (const p of processTree(pid)) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
    if (m) kb += Number(m[1]);
  }
  return kb > 0 ? Math.round(kb / 102.4) / 10 : undefined;
}

async function main() {
  const machine = machineInfo();
  const tmp = makeTempDir();
  const backendPorts = [];
  for (let i = 0; i < BACKEND_PORTS; i++) backendPorts.push(await freePort());
  const backend = await startBackend(backendPorts, 2);
  let checked;
  let baseline;
  try {
    checked = await measure('with-health-check', { path: '/health', interval: INTERVAL }, backendPorts, backend, tmp);
    baseline = await measure('baseline', undefined, backendPorts, backend, tmp);
  } finally {
    await stopChild(backend);
    removeTempDir(tmp);
  }
  const extra = checked.cpuPctOfOneCore - baseline.cpuPctOfOneCore;
  const problems = [];
  if ((checked.healthAtEnd.healthy ?? 0) !== BACKENDS) problems.push(`with health check, not every backend is healthy at the end: ${JSON.stringify(checked.healthAtEnd)}`);
  for (const r of [checked, baseline]) if (r.warnLines.length > 0) problems.push(`turnout logged warn/error lines: ${r.warnLines[0]}`);
  if (machine.loadAvgAtStart[0] > machine.cpus * 0.5) problems.push(`machine load average ${machine.loadAvgAtStart[0]} at start: other work shares the cores`);
  const probesPerSec = BACKENDS / (parseFloat(INTERVAL) * (INTERVAL.endsWith('ms') ? 0.001 : INTERVAL.endsWith('m') ? 60 : 1));
  const doc = {
    bench: 'health checker CPU (bench/health-checker.mjs)',
    machine,
    settings: { backends: BACKENDS, backendPorts: BACKEND_PORTS, interval: INTERVAL, settleS: SETTLE, windowS: WINDOW, probesPerSec },
    results: { withHealthCheck: checked, baseline, extraCpuPct: extra, cpuUsPerProbe: (extra / 100 / (checked.probesPerSec ?? probesPerSec)) * 1e6 },
    goal: { goal: `turnout with ${BACKENDS} backends checked every ${INTERVAL} uses < ${GOAL_PCT} % of one core`, value: checked.cpuPctOfOneCore, met: checked.cpuPctOfOneCore < GOAL_PCT },
    problems,
  };
  const file = writeResult('health-checker.json', doc);
  const rows = [
    ['config', 'turnout CPU (% of one core)', 'probes/s', 'new conns', 'backend CPU', 'RSS MiB', 'health at end'],
    ...[
      [`${BACKENDS} backends, healthCheck every ${INTERVAL}`, checked],
      [`${BACKENDS} backends, no healthCheck`, baseline],
    ].map(([label, r]) => [label, r.cpuPctOfOneCore.toFixed(2), r.probesPerSec === undefined ? '-' : r.probesPerSec.toFixed(0), String(r.newConnections ?? '-'), `${r.backendCpuPct.toFixed(2)} %`, String(r.rssMiB), JSON.stringify(r.healthAtEnd)]),
  ];
  process.stdout.write(`\nhealth checker CPU — ${machine.date} — node ${machine.node}, ${machine.cpus} x ${machine.cpuModel}; ${WINDOW}s window, no traffic\n\n`);
  process.stdout.write(`${table(rows)}\n\n`);
  process.stdout.write(`health checking costs ${extra.toFixed(2)} % of one core over the baseline (${(checked.probesPerSec ?? probesPerSec).toFixed(0)} probes/s, about ${doc.results.cpuUsPerProbe.toFixed(0)} µs CPU per probe)\n`);
  process.stdout.write(`${doc.goal.met ? 'MET    ' : 'NOT MET'}  ${doc.goal.goal}: ${checked.cpuPctOfOneCore.toFixed(2)} %\n`);
  for (const p of problems) process.stdout.write(`note: ${p}\n`);
  process.stdout.write(`results: ${path.relative(ROOT, file)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
