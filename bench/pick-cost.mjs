// Microbenchmark of the balancer's pick cost: EdfBalancer (weighted round robin, EDF heap) over pools
// of 10 and 1,000 backends with mixed weights, in ns per pick; SplitPicker for reference.
//
//   npm run bench:pick          (builds first)
//   PICK_COUNT=3000000 PICK_RUNS=7 node bench/pick-cost.mjs
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, fmt, machineInfo, median, table, writeResult } from './lib.mjs';

const { EdfBalancer, SplitPicker } = await import(pathToFileURL(path.join(ROOT, 'dist', 'balancer', 'index.js')).href);

const PICKS = Number(process.env.PICK_COUNT ?? 3_000_000);
const RUNS = Number(process.env.PICK_RUNS ?? 7);
const WARMUP = Number(process.env.PICK_WARMUP ?? 1_000_000);
const GOAL = 2; // 1,000-backend pick <= 2x the 10-backend pick

// Deterministic mixed weights: 1..1000 with a spread (a few heavy, many default, some light).
function weights(n) {
  const palette = [100, 100, 100, 50, 200, 10, 1000, 100, 1, 300, 100, 75];
  const out = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out.push(palette[x % palette.length]);
  }
  return out;
}

function makeBackends(n) {
  const w = weights(n);
  return w.map((weight, i) => ({ id: `b-${i}`, url: `http://10.0.${i >> 8}.${i & 255}:8080`, weight }));
}

let sink = 0;

// One loop function per kind of call, so each call site stays monomorphic (a shared loop calling
// different closures would make whatever runs later look slower).
function loopEdf(bal, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s ^= bal.pick().weight;
  return s;
}
function loopSplit(picker, rnd, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s ^= picker.pick(rnd[i & 4095]) === undefined ? 1 : 0;
  return s;
}
function loopRandom(n) {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.random();
  return s > 0 ? 1 : 0;
}

/**
 * ns per call for several cases, median over RUNS runs of PICKS calls each, after WARMUP calls. The
 * cases' runs are interleaved (a, b, a, b, …) so a burst of other load hits them alike.
 */
function measure(cases) {
  for (const c of cases) sink ^= c.run(WARMUP);
  const samples = cases.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    cases.forEach((c, k) => {
      const t0 = process.hrtime.bigint();
      sink ^= c.run(PICKS);
      samples[k].push(Number(process.hrtime.bigint() - t0) / PICKS);
    });
  }
  return samples.map((xs) => ({ nsPerPick: median(xs), min: Math.min(...xs), max: Math.max(...xs), samples: xs.map((x) => Math.round(x * 100) / 100) }));
}

/** Checks that picks follow the weights (sanity: the bench measures a working balancer). */
function distributionError(balancer, backends, n) {
  const counts = new Map();
  for (let i = 0; i < n; i++) {
    const b = balancer.pick();
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  const total = backends.reduce((a, b) => a + b.weight, 0);
  let worst = 0;
  for (const b of backends) {
    const want = (b.weight / total) * n;
    if (want >= 100) worst = Math.max(worst, Math.abs((counts.get(b) ?? 0) - want) / want);
  }
  return worst;
}

const results = {};
const rows = [['case', 'ns/pick (median)', 'min', 'max', 'picks/s']];
{
  const sizes = [10, 1000];
  const bals = sizes.map((n) => {
    const backends = makeBackends(n);
    const err = distributionError(new EdfBalancer(backends, (b) => b.weight), backends, 2_000_000);
    return { n, bal: new EdfBalancer(backends, (b) => b.weight), err };
  });
  const ms = measure(bals.map((b) => ({ run: (k) => loopEdf(b.bal, k) })));
  bals.forEach((b, i) => {
    const m = ms[i];
    results[`edf-${b.n}`] = { backends: b.n, ...m, maxShareErrorPct: Math.round(b.err * 10000) / 100 };
    rows.push([`EdfBalancer.pick, ${b.n} backends`, m.nsPerPick.toFixed(1), m.min.toFixed(1), m.max.toFixed(1), fmt.int(1e9 / m.nsPerPick)]);
  });
}

// Rebuilding the balancer happens on every routing-table change (not per request): for reference.
for (const n of [10, 1000]) {
  const backends = makeBackends(n);
  const builds = [];
  for (let r = 0; r < RUNS; r++) {
    const k = n === 10 ? 100_000 : 1_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < k; i++) sink ^= new EdfBalancer(backends, (b) => b.weight).size;
    builds.push(Number(process.hrtime.bigint() - t0) / k);
  }
  results[`edf-build-${n}`] = { backends: n, nsPerBuild: median(builds) };
  rows.push([`new EdfBalancer (table rebuild), ${n} backends`, median(builds).toFixed(0), '', '', '']);
}

{
  const rnd = Float64Array.from({ length: 4096 }, () => Math.random());
  const pickers = [2, 8].map((pools) => {
    const shares = Array.from({ length: pools }, (_, i) => ({ pool: `pool-${i}`, share: i === 0 ? 10000 - (pools - 1) * 100 : 100, available: true }));
    return { pools, picker: new SplitPicker(shares, false) };
  });
  // Random numbers are pre-drawn, so Math.random() is not what we time; it is timed apart below.
  const ms = measure([...pickers.map((p) => ({ run: (k) => loopSplit(p.picker, rnd, k) })), { run: (k) => loopRandom(k) }]);
  pickers.forEach((p, i) => {
    const m = ms[i];
    results[`split-${p.pools}`] = { pools: p.pools, ...m };
    rows.push([`SplitPicker.pick, ${p.pools} pools`, m.nsPerPick.toFixed(1), m.min.toFixed(1), m.max.toFixed(1), fmt.int(1e9 / m.nsPerPick)]);
  });
  const m = ms[pickers.length];
  results['math-random'] = m;
  rows.push(['Math.random() (a split pick also draws one)', m.nsPerPick.toFixed(1), m.min.toFixed(1), m.max.toFixed(1), fmt.int(1e9 / m.nsPerPick)]);
}

const ratio = results['edf-1000'].nsPerPick / results['edf-10'].nsPerPick;
const doc = {
  bench: 'balancer pick cost (bench/pick-cost.mjs)',
  machine: machineInfo(),
  settings: { picksPerRun: PICKS, runs: RUNS, warmup: WARMUP },
  results,
  ratio1000vs10: ratio,
  goal: { goal: `1,000-backend pick <= ${GOAL}x the 10-backend pick`, value: ratio, met: ratio <= GOAL },
  sink,
};
const file = writeResult('pick-cost.json', doc);
process.stdout.write(`\nbalancer pick cost — node ${process.version}, ${doc.machine.cpus} x ${doc.machine.cpuModel}; ${RUNS} runs x ${fmt.int(PICKS)} picks, median\n\n`);
process.stdout.write(`${table(rows)}\n\n`);
process.stdout.write(`EDF weights follow the config: worst share error over 2M picks ${results['edf-10'].maxShareErrorPct} % (10), ${results['edf-1000'].maxShareErrorPct} % (1,000)\n`);
process.stdout.write(`${ratio <= GOAL ? 'MET    ' : 'NOT MET'}  1,000-backend pick / 10-backend pick = ${ratio.toFixed(2)}× (goal <= ${GOAL}×)\n`);
process.stdout.write(`results: ${path.relative(ROOT, file)}\n`);
