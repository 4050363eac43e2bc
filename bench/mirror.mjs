// Mirroring's cost (SPEC "Mirroring", issue 18 acceptance 6): turnout's CPU per request with no
// mirror and with 100 % of the requests copied to a second pool, under the same load. Rounds
// alternate (none, mirror, none, mirror, ...) so the shared machine's noise falls on both; the
// figure is the median of each. Goal: mirroring 100 % costs <= 1.6x the CPU per request of no mirror.
//
//   npm run bench:mirror [-- --duration 10 --rounds 3 --connections 16 --size 1024]
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ADMIN_TOKEN,
  HOST,
  cannon,
  cpuTree,
  cpuTreeDelta,
  fmt,
  freePort,
  machineInfo,
  makeTempDir,
  median,
  progress,
  startBackend,
  startTurnout,
  stopAll,
  summarize,
  table,
  writeResult,
  turnoutBenchConfig,
  writeTurnoutConfig,
} from './lib.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    size: { type: 'string', default: '1024' },
    workers: { type: 'string', default: '1' },
  },
});
const DURATION = Number(values.duration);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
const SIZE = Number(values.size);
const WORKERS = Number(values.workers);
const GOAL = 1.6;

async function admin(adminPort, method, route, body) {
  const res = await fetch(`http://${HOST}:${adminPort}${route}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** The mirror's counters from /metrics: copies answered and dropped. */
async function mirrorCounts(adminPort) {
  const text = await (await fetch(`http://${HOST}:${adminPort}/metrics`)).text();
  const sum = (re) => [...text.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
  return { copies: sum(/^turnout_mirror_requests_total\{[^}]*\} (\d+)/gm), dropped: sum(/^turnout_mirror_dropped_total\{[^}]*\} (\d+)/gm) };
}

async function main() {
  const tmp = makeTempDir('turnout-bench-mirror-');
  const bluePort = await freePort();
  const greenPort = await freePort();
  const backend = await startBackend([bluePort, greenPort], SIZE);
  const port = await freePort();
  const adminPort = await freePort();
  // The bench's own turnout config (run.mjs measures the same), with a second pool to mirror to.
  const doc = turnoutBenchConfig(port, adminPort, [bluePort]);
  doc.services.bench.pools.green = [{ id: 'g1', url: `http://${HOST}:${greenPort}` }];
  doc.services.bench.split = { main: 100, green: 0 };
  const file = writeTurnoutConfig(tmp, 'mirror.yaml', doc);
  const turnout = await startTurnout(file, adminPort, { workers: WORKERS });
  const url = `http://${HOST}:${port}/`;
  progress(`warm-up ${Math.min(5, DURATION)} s`);
  await cannon({ url, connections: CONNECTIONS, duration: Math.min(5, DURATION) });

  const runs = { none: [], mirror: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of ['none', 'mirror']) {
      if (scenario === 'mirror') await admin(adminPort, 'PUT', '/v1/services/bench/mirror', { pool: 'green', percent: 100 });
      const before = await mirrorCounts(adminPort);
      progress(`round ${round + 1}/${ROUNDS}: ${scenario}, ${DURATION} s, ${CONNECTIONS} connections`);
      const c0 = cpuTree(turnout.pid);
      const r = summarize(await cannon({ url, connections: CONNECTIONS, duration: DURATION }));
      const d = cpuTreeDelta(c0, cpuTree(turnout.pid));
      // The copies' answers are counted when they arrive: give the last ones a moment.
      await new Promise((res) => setTimeout(res, 300));
      const after = await mirrorCounts(adminPort);
      runs[scenario].push({
        ...r,
        cpuS: d.total,
        usPerRequest: r.requests > 0 ? (d.total / r.requests) * 1e6 : undefined,
        copies: after.copies - before.copies,
        dropped: after.dropped - before.dropped,
      });
      if (scenario === 'mirror') await admin(adminPort, 'DELETE', '/v1/services/bench/mirror');
    }
  }
  const pick = (s, k) => median(runs[s].map((x) => x[k]));
  const ratio = pick('mirror', 'usPerRequest') / pick('none', 'usPerRequest');
  const rows = [['scenario', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'copies', 'dropped', 'errors']];
  for (const s of ['none', 'mirror']) {
    rows.push([s === 'none' ? 'no mirror' : 'mirror 100 %', fmt.int(pick(s, 'rps')), fmt.ms(pick(s, 'p50Ms')), fmt.ms(pick(s, 'p99Ms')), fmt.int(pick(s, 'usPerRequest')), fmt.int(pick(s, 'copies')), fmt.int(pick(s, 'dropped')), fmt.int(pick(s, 'errors'))]);
  }
  process.stdout.write(`\n${table(rows)}\n\nmirror 100 % / no mirror, CPU per request: ${fmt.ratio(ratio)} (goal <= ${GOAL}×: ${ratio <= GOAL ? 'met' : 'NOT met'})\n`);
  const out = writeResult('mirror.json', {
    machine: machineInfo(),
    settings: { durationS: DURATION, rounds: ROUNDS, connections: CONNECTIONS, sizeBytes: SIZE, workers: WORKERS },
    runs,
    medians: { none: { usPerRequest: pick('none', 'usPerRequest'), rps: pick('none', 'rps') }, mirror: { usPerRequest: pick('mirror', 'usPerRequest'), rps: pick('mirror', 'rps') } },
    cpuRatio: ratio,
    goal: GOAL,
    goalMet: ratio <= GOAL,
  });
  progress(`wrote ${path.relative(process.cwd(), out)} (backend pid ${backend.pid})`);
  await stopAll();
}

main().catch(async (err) => {
  process.stderr.write(`bench: ${err?.stack ?? err}\n`);
  await stopAll();
  process.exit(1);
});
