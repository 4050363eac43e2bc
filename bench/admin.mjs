// Admin API throughput: turnout (child process, memory store) with 100 services x 10 backends;
// autocannon on GET /v1/services (and, for reference, one service and /metrics); then flips per
// second, sequential on one service and with 4 concurrent clients on 4 services.
//
//   npm run bench:admin        (builds first)
//   ADMIN_DURATION=5 node bench/admin.mjs
import http from 'node:http';
import path from 'node:path';
import { Agent, request } from 'undici';
import {
  ADMIN_TOKEN,
  HOST,
  ROOT,
  cannon,
  treeCpuSeconds,
  fmt,
  freePort,
  machineInfo,
  makeTempDir,
  percentile,
  progress,
  removeTempDir,
  sleep,
  startTurnout,
  stopChild,
  summarize,
  table,
  writeResult,
  writeTurnoutConfig,
} from './lib.mjs';

const DURATION = Number(process.env.ADMIN_DURATION ?? 5);
const SERVICES = Number(process.env.ADMIN_SERVICES ?? 100);
const PER_POOL = Number(process.env.ADMIN_BACKENDS_PER_POOL ?? 5); // 2 pools x 5 = 10 backends a service

async function main() {
  const machine = machineInfo();
  const tmp = makeTempDir();
  // One dummy backend in this process: nothing is proxied, it only has to exist.
  const dummy = http.createServer((_req, res) => res.end('ok'));
  await new Promise((r) => dummy.listen(0, HOST, r));
  const dummyUrl = `http://${HOST}:${dummy.address().port}`;

  const port = await freePort();
  const adminPort = await freePort();
  const services = {};
  for (let s = 0; s < SERVICES; s++) {
    services[`svc-${s}`] = {
      routes: [{ host: `svc-${s}.local`, pathPrefix: '/' }],
      pools: {
        blue: Array.from({ length: PER_POOL }, (_, i) => ({ id: `svc-${s}-blue-${i}`, url: dummyUrl })),
        green: Array.from({ length: PER_POOL }, (_, i) => ({ id: `svc-${s}-green-${i}`, url: dummyUrl })),
      },
      split: { blue: 100, green: 0 },
    };
  }
  const file = writeTurnoutConfig(tmp, 'admin.yaml', {
    listen: { host: HOST, port },
    admin: { host: HOST, port: adminPort },
    state: { store: 'memory' },
    log: { level: 'warn', access: false },
    services,
  });
  progress(`starting turnout with ${SERVICES} services x ${PER_POOL * 2} backends`);
  const t0 = performance.now();
  // turnout's CPU below is the supervisor's + its worker's (the admin API runs in the supervisor).
  const turnout = await startTurnout(file, adminPort, { workers: Number(process.env.BENCH_WORKERS ?? 1) });
  const startMs = performance.now() - t0;
  const base = `http://${HOST}:${adminPort}`;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const results = { startupMs: Math.round(startMs) };
  const problems = [];
  try {
    // Sanity: the listing has every service and backend.
    const list = await (await fetch(`${base}/v1/services`, { headers: auth })).json();
    const nBackends = list.services.reduce((a, s) => a + Object.values(s.pools).reduce((b, p) => b + p.backends.length, 0), 0);
    const bytes = Buffer.byteLength(JSON.stringify(list));
    results.listing = { services: list.services.length, backends: nBackends, approxBytes: bytes };
    if (list.services.length !== SERVICES || nBackends !== SERVICES * PER_POOL * 2) problems.push(`GET /v1/services lists ${list.services.length} services, ${nBackends} backends`);
    progress(`GET /v1/services: ${list.services.length} services, ${nBackends} backends, ${fmt.int(bytes)} bytes of JSON`);

    const reads = [
      ['GET /v1/services', '/v1/services', auth],
      ['GET /v1/services/svc-0', '/v1/services/svc-0', auth],
      ['GET /metrics', '/metrics', {}],
    ];
    results.reads = {};
    results.skipped = [];
    for (const [name, p, headers] of reads) {
      const probe = await fetch(`${base}${p}`, { headers });
      await probe.arrayBuffer();
      if (probe.status !== 200) {
        // e.g. /metrics before the telemetry layer registers it
        results.skipped.push(`${name}: answered ${probe.status}, not measured`);
        progress(`${name}: answered ${probe.status}, skipped`);
        continue;
      }
      progress(`${name}: autocannon 10 connections, ${DURATION}s`);
      await cannon({ url: `${base}${p}`, headers, connections: 10, duration: 1 }); // warm-up
      const cpu0 = treeCpuSeconds(turnout.pid);
      const w0 = performance.now();
      const r = summarize(await cannon({ url: `${base}${p}`, headers, connections: 10, duration: DURATION }));
      r.turnoutCpuPct = ((treeCpuSeconds(turnout.pid) - cpu0) / ((performance.now() - w0) / 1000)) * 100;
      results.reads[name] = r;
      if (r.errors + r.non2xx + r.timeouts > 0) problems.push(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} timeouts`);
      progress(`  ${fmt.int(r.rps)} req/s, p50 ${fmt.ms(r.p50Ms)} ms, p99 ${fmt.ms(r.p99Ms)} ms, turnout CPU ${r.turnoutCpuPct.toFixed(0)} %`);
    }

    // Flips: each client alternates its service between green and blue, one call at a time.
    const agent = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
    const flipLoop = async (svc, until) => {
      const lat = [];
      const bad = {};
      let to = 'green';
      let lastRevision = 0;
      let revisionsOk = true;
      while (performance.now() < until) {
        const s = performance.now();
        const res = await request(`${base}/v1/services/${svc}/flip`, {
          method: 'POST',
          dispatcher: agent,
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ to }),
        });
        const body = await res.body.json().catch(() => undefined);
        lat.push(performance.now() - s);
        if (res.statusCode !== 200) bad[res.statusCode] = (bad[res.statusCode] ?? 0) + 1;
        else {
          if (body?.service?.split?.[to] !== 100) revisionsOk = false;
          if (!(body?.revision > lastRevision)) revisionsOk = false;
          lastRevision = body?.revision ?? lastRevision;
        }
        to = to === 'green' ? 'blue' : 'green';
      }
      return { lat, bad, revisionsOk };
    };
    const flipRun = async (name, svcs) => {
      progress(`${name}: ${svcs.length} client(s), ${DURATION}s`);
      await Promise.all(svcs.map((s) => flipLoop(s, performance.now() + 500))); // warm-up
      const cpu0 = treeCpuSeconds(turnout.pid);
      const w0 = performance.now();
      const outs = await Promise.all(svcs.map((s) => flipLoop(s, w0 + DURATION * 1000)));
      const wall = (performance.now() - w0) / 1000;
      const lat = outs.flatMap((o) => o.lat).sort((a, b) => a - b);
      const bad = {};
      for (const o of outs) for (const [k, v] of Object.entries(o.bad)) bad[k] = (bad[k] ?? 0) + v;
      const r = {
        clients: svcs.length,
        flips: lat.length,
        flipsPerSec: lat.length / wall,
        p50Ms: percentile(lat, 50),
        p99Ms: percentile(lat, 99),
        maxMs: lat[lat.length - 1],
        non200: bad,
        answersConsistent: outs.every((o) => o.revisionsOk),
        turnoutCpuPct: ((treeCpuSeconds(turnout.pid) - cpu0) / wall) * 100,
      };
      if (Object.keys(bad).length > 0) problems.push(`${name}: non-200 answers ${JSON.stringify(bad)}`);
      if (!r.answersConsistent) problems.push(`${name}: a 200 answer did not show the new split or a higher revision`);
      progress(`  ${fmt.int(r.flipsPerSec)} flips/s, p50 ${fmt.ms(r.p50Ms)} ms, p99 ${fmt.ms(r.p99Ms)} ms, turnout CPU ${r.turnoutCpuPct.toFixed(0)} %`);
      return r;
    };
    results.flips = {
      'sequential, svc-0': await flipRun('flips sequential on svc-0', ['svc-0']),
      '4 clients, svc-0..3': await flipRun('flips 4 concurrent clients on svc-0..svc-3', ['svc-0', 'svc-1', 'svc-2', 'svc-3']),
    };
    await agent.close();

    // After all that, the listing still answers and the history is bounded.
    const hist = await (await fetch(`${base}/v1/services/svc-0/history`, { headers: auth })).json();
    results.historyLength = hist.history?.length;
    await sleep(100);
  } finally {
    await stopChild(turnout);
    dummy.close();
    removeTempDir(tmp);
  }
  if (turnout.watched.length > 0) problems.push(`turnout logged ${turnout.watched.length} warn/error lines, first: ${turnout.watched[0]}`);

  const doc = {
    bench: 'admin API throughput (bench/admin.mjs)',
    machine,
    settings: { durationS: DURATION, services: SERVICES, backendsPerService: PER_POOL * 2, readConnections: 10 },
    results,
    problems,
  };
  const out = writeResult('admin.json', doc);
  const rows = [['call', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'turnout CPU']];
  for (const [name, r] of Object.entries(results.reads)) {
    rows.push([`${name} (10 conns)`, fmt.int(r.rps), fmt.ms(r.p50Ms), fmt.ms(r.p99Ms), String(r.errors + r.timeouts), String(r.non2xx), `${r.turnoutCpuPct.toFixed(0)} %`]);
  }
  for (const [name, r] of Object.entries(results.flips)) {
    rows.push([`POST flip, ${name}`, fmt.int(r.flipsPerSec), fmt.ms(r.p50Ms), fmt.ms(r.p99Ms), '0', String(Object.values(r.non200).reduce((a, b) => a + b, 0)), `${r.turnoutCpuPct.toFixed(0)} %`]);
  }
  process.stdout.write(`\nadmin API — ${machine.date} — node ${machine.node}, ${machine.cpus} x ${machine.cpuModel}\n`);
  process.stdout.write(`${SERVICES} services x ${PER_POOL * 2} backends (memory store), ${DURATION}s per case; start-up to ready ${results.startupMs} ms; GET /v1/services body ${fmt.int(results.listing.approxBytes)} bytes\n\n`);
  process.stdout.write(`${table(rows)}\n\n`);
  for (const k of results.skipped) process.stdout.write(`skipped: ${k}\n`);
  if (problems.length > 0) {
    process.stdout.write('PROBLEMS:\n');
    for (const p of problems) process.stdout.write(`  ${p}\n`);
  } else {
    process.stdout.write('no errors, no non-2xx, every flip answered the new split with a higher revision.\n');
  }
  process.stdout.write(`results: ${path.relative(ROOT, out)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
