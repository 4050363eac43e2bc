// Prints the latest results (bench/results/*.json) as Markdown, for the "Latest figures" section
// of bench/README.md.   node bench/report.mjs [run file in results/, default latest.json]
import { existsSync } from 'node:fs';
import path from 'node:path';
import { RESULTS_DIR, readJson } from './lib.mjs';

const load = (f) => (existsSync(path.join(RESULTS_DIR, f)) ? readJson(path.join(RESULTS_DIR, f)) : undefined);
const int = (x) => (x === undefined || x === null ? '-' : Math.round(x).toLocaleString('en-US'));
const ms = (x) => (x === undefined || x === null ? '-' : Number(x).toFixed(x < 10 ? 2 : 1));
const ratio = (x) => (x === undefined || x === null ? '-' : `${x.toFixed(2)}×`);
const md = (rows) => [`| ${rows[0].join(' | ')} |`, `|${rows[0].map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)].join('\n');
const out = [];

const run = load(process.argv[2] ?? 'latest.json');
if (run) {
  const m = run.machine;
  // Results written before the engine goals (node:http + undici data plane) have
  // `cpuEfficiencyRatios` and no `cpuPerRequestRatios`; both are printed as they were measured.
  const engineGoals = run.cpuPerRequestRatios !== undefined;
  out.push(`### Proxy throughput${engineGoals ? '' : ', previous data plane: node:http + undici'} (\`npm run bench\`, ${m.date.slice(0, 16).replace('T', ' ')} UTC)`);
  out.push('');
  out.push(`${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, node ${m.node}, commit ${m.commit ?? '?'}${m.srcDirty ? ' (src/ had uncommitted changes)' : ''}; load average at start ${m.loadAvgAtStart.join(' ')}. ${run.settings.connections} connections, ${run.settings.rounds} rounds × ${run.settings.durationS} s, median of rounds.`);
  const usPerReq = (r) => (r.cpuUsPerReq ? r.cpuUsPerReq : r.reqPerProxyCpuS ? 1e6 / r.reqPerProxyCpuS : undefined);
  for (const [label, res] of Object.entries(run.results)) {
    out.push('');
    out.push(`**${label} responses**`);
    out.push('');
    const rows = [['target', 'req/s', 'p99 ms', 'errors', 'non-2xx', 'proxy CPU', 'CPU µs/req', 'other CPU', 'rounds req/s']];
    for (const [t, r] of Object.entries(res)) {
      const us = usPerReq(r);
      rows.push([t, int(r.rps), ms(r.p99Ms), String(r.errors + r.timeouts), String(r.non2xx), r.proxyCpuPct === undefined || r.proxyCpuPct === null ? '-' : `${r.proxyCpuPct.toFixed(0)} %`, us === undefined ? '-' : us.toFixed(0), `${r.otherCpuPct.toFixed(0)} %`, r.rounds.map(int).join(' / ')]);
    }
    out.push(md(rows));
  }
  out.push('');
  const labels = Object.keys(run.ratios);
  if (engineGoals) {
    const goalText = (k, kind) => {
      const g = run.goalThresholds;
      if (kind === 'rps' && k === 'turnout/nginx') return Object.entries(g.nginxRps).map(([sz, x]) => `≥ ${x}× at ${Number(sz) / 1024} KiB`).join(', ');
      if (kind === 'rps' && k === 'turnout/floor') return `≥ ${g.floorRps}×`;
      if (kind === 'rps' && k === 'turnout/bare-undici') return `≥ ${g.undiciRps}×`;
      if (kind === 'cpu' && k === 'turnout/nginx') return `≤ ${g.nginxCpu}×`;
      if (kind === 'p99' && k === 'turnout/nginx') return `≤ ${g.nginxP99}×`;
      return '';
    };
    const rows = [['ratio', ...labels.map((l) => `${l} req/s`), ...labels.map((l) => `${l} CPU µs/req`), ...labels.map((l) => `${l} p99`), 'goal']];
    const keys = [...new Set([...Object.keys(run.ratios[labels[0]]), ...Object.keys(run.cpuPerRequestRatios[labels[0]])])];
    for (const k of keys) {
      const cells = [...labels.map((l) => run.ratios[l][k]), ...labels.map((l) => run.cpuPerRequestRatios[l][k]), ...labels.map((l) => run.p99Ratios?.[l]?.[k])];
      if (cells.every((x) => x === undefined || x === null)) continue;
      rows.push([k, ...cells.map(ratio), [goalText(k, 'rps'), goalText(k, 'cpu') && `CPU ${goalText(k, 'cpu')}`, goalText(k, 'p99') && `p99 ${goalText(k, 'p99')}`].filter(Boolean).join('; ')]);
    }
    out.push(md(rows));
    out.push('');
    for (const g of run.goals) out.push(`- ${g.met === null ? '**not measured**' : g.met ? '**met**' : '**not met**'}: ${g.goal}: ${g.met === null ? `${g.peer} or turnout not in this run` : ratio(g.value)}`);
  } else {
    const rows = [['ratio', ...labels.map((l) => `${l} req/s`), ...labels.map((l) => `${l} CPU eff.`), 'goal']];
    const goal = { 'turnout/nginx': '≥ 0.75× at 1 KiB', 'turnout/bare-undici': '≥ 0.95×' };
    for (const k of ['turnout/nginx', 'turnout/bare-undici', 'turnout/direct', 'turnout/haproxy', 'turnout/bare-http-proxy', 'turnout-2b/turnout']) {
      rows.push([k, ...labels.map((l) => ratio(run.ratios[l][k])), ...labels.map((l) => ratio(run.cpuEfficiencyRatios?.[l]?.[k])), goal[k] ?? '']);
    }
    out.push(md(rows));
    out.push('');
    for (const g of run.goals) out.push(`- ${g.met ? '**met**' : '**not met**'}: ${g.goal}: ${ratio(g.value)}`);
  }
  out.push(`- turnout errors / non-2xx: ${run.turnoutProblems.length === 0 ? 'none' : run.turnoutProblems.join('; ')}`);
  for (const n of run.notes) out.push(`- note: ${n}`);
}

const prof = load('profile.json');
if (prof) {
  out.push('');
  out.push(`### turnout CPU profile (\`npm run bench:profile\`, ${prof.machine.date.slice(0, 16).replace('T', ' ')} UTC, load average ${prof.machine.loadAvgAtStart.join(' ')})`);
  out.push('');
  out.push(`${prof.settings.connections} connections for ${prof.settings.durationS} s, ${prof.settings.size}-byte responses, commit ${prof.machine.commit ?? '?'}: ${int(prof.load.rps)} req/s with the profiler on; sampled ${int(prof.profile.sampledMs)} ms (${prof.profile.window}), busy ${int(prof.profile.busyMs)} ms.`);
  out.push('');
  const rows = [['#', 'function', 'location', 'self ms', '% busy']];
  prof.top.slice(0, 15).forEach((f, i) => rows.push([String(i + 1), `\`${f.function}\``, f.location ? `\`${f.location}\`` : '-', f.selfMs.toFixed(1), `${f.pctOfBusy.toFixed(1)} %`]));
  out.push(md(rows));
  out.push('');
  out.push(`By area: ${prof.areas.map((a) => `${a.area} ${a.pctOfBusy.toFixed(1)} %`).join(', ')}.`);
}

const parser = load('parser.json');
if (parser) {
  out.push('');
  out.push(`### Request-head parsing (\`npm run bench:parser\`, ${parser.machine.date.slice(0, 16).replace('T', ' ')} UTC, load average ${parser.machine.loadAvgAtStart.join(' ')})`);
  out.push('');
  const rows = [['head', 'bytes', 'headers', ...parser.parsers.map((n) => `${n} ns`), 'turnout/llhttp']];
  for (const [name, r] of Object.entries(parser.results)) {
    rows.push([name, String(r.bytes), String(r.headers), ...parser.parsers.map((n) => (r.parsers[n]?.nsPerParse === undefined ? 'failed' : r.parsers[n].nsPerParse.toFixed(0))), ratio(parser.ratios[name]?.['turnout/llhttp'])]);
  }
  out.push(md(rows));
  out.push('');
  out.push(`- median ns per parse over ${parser.settings.runs} runs; llhttp via ${parser.llhttpVia}`);
  if (!parser.turnoutParser.built) out.push(`- turnout parser not built yet: ${parser.turnoutParser.reason}`);
  for (const c of parser.checks.filter((x) => !x.ok)) out.push(`- check failed: ${c.parser} on "${c.head}": ${c.detail}`);
}

const pick = load('pick-cost.json');
if (pick) {
  out.push('');
  out.push(`### Balancer pick cost (\`npm run bench:pick\`, ${pick.machine.date.slice(0, 16).replace('T', ' ')} UTC, load average ${pick.machine.loadAvgAtStart.join(' ')})`);
  out.push('');
  const rows = [['case', 'ns/pick (median)', 'min', 'max']];
  for (const [k, r] of Object.entries(pick.results)) {
    if (r.nsPerPick !== undefined) rows.push([k, r.nsPerPick.toFixed(1), r.min.toFixed(1), r.max.toFixed(1)]);
    else rows.push([`${k} (ns per build)`, int(r.nsPerBuild), '', '']);
  }
  out.push(md(rows));
  out.push('');
  out.push(`- ${pick.goal.met ? '**met**' : '**not met**'}: ${pick.goal.goal}: ${ratio(pick.goal.value)}`);
}

const admin = load('admin.json');
if (admin) {
  const r = admin.results;
  out.push('');
  out.push(`### Admin API (\`npm run bench:admin\`, ${admin.machine.date.slice(0, 16).replace('T', ' ')} UTC, load average ${admin.machine.loadAvgAtStart.join(' ')})`);
  out.push('');
  out.push(`${admin.settings.services} services × ${admin.settings.backendsPerService} backends, memory store; start-up to ready ${int(r.startupMs)} ms; \`GET /v1/services\` body ${int(r.listing.approxBytes)} bytes.`);
  out.push('');
  const rows = [['call', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'turnout CPU']];
  for (const [k, x] of Object.entries(r.reads)) rows.push([`${k} (10 connections)`, int(x.rps), ms(x.p50Ms), ms(x.p99Ms), String(x.errors + x.timeouts), String(x.non2xx), `${x.turnoutCpuPct.toFixed(0)} %`]);
  for (const [k, x] of Object.entries(r.flips)) rows.push([`POST flip, ${k}`, `${int(x.flipsPerSec)} flips/s`, ms(x.p50Ms), ms(x.p99Ms), '0', String(Object.values(x.non200).reduce((a, b) => a + b, 0)), `${x.turnoutCpuPct.toFixed(0)} %`]);
  out.push(md(rows));
  out.push('');
  for (const s of r.skipped ?? []) out.push(`- skipped: ${s}`);
  for (const p of admin.problems) out.push(`- problem: ${p}`);
}

const health = load('health-checker.json');
if (health) {
  const r = health.results;
  out.push('');
  out.push(`### Health checker CPU (\`npm run bench:health\`, ${health.machine.date.slice(0, 16).replace('T', ' ')} UTC, load average ${health.machine.loadAvgAtStart.join(' ')})`);
  out.push('');
  const rows = [['config', 'turnout CPU, % of one core', 'probes/s', 'new backend conns', 'RSS MiB']];
  rows.push([`${health.settings.backends} backends, check every ${health.settings.interval}`, r.withHealthCheck.cpuPctOfOneCore.toFixed(2), r.withHealthCheck.probesPerSec?.toFixed(0) ?? '-', String(r.withHealthCheck.newConnections ?? '-'), String(r.withHealthCheck.rssMiB)]);
  rows.push([`${health.settings.backends} backends, no health check`, r.baseline.cpuPctOfOneCore.toFixed(2), '0', String(r.baseline.newConnections ?? '-'), String(r.baseline.rssMiB)]);
  out.push(md(rows));
  out.push('');
  out.push(`- about ${r.cpuUsPerProbe.toFixed(0)} µs of CPU per probe; ${health.settings.windowS} s window after ${health.settings.settleS} s settling, no traffic`);
  out.push(`- ${health.goal.met ? '**met**' : '**not met**'}: ${health.goal.goal}: ${health.goal.value.toFixed(2)} %`);
  for (const p of health.problems) out.push(`- note: ${p}`);
}

process.stdout.write(`${out.join('\n')}\n`);
