// Shared helpers for the benchmarks: child processes that are always cleaned up, free loopback
// ports, readiness polling, autocannon runs, machine info and result files.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, '..');
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
export const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Child processes: every child gets its own process group (detached), so a whole tree (nginx
// master + worker) is signalled at once, and every child is killed when this process exits,
// throws, or gets SIGINT/SIGTERM/SIGHUP.

const children = new Set();
const tempDirs = new Set();
let handlersInstalled = false;

function killGroup(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const c of children) killGroup(c, 'SIGKILL');
    for (const d of tempDirs) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch {
        // ignore
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping children\n`);
      for (const c of children) killGroup(c, 'SIGKILL');
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
}

/**
 * Spawns a child in its own process group, keeping the last 64 KiB of its output (so a failure can
 * be shown) and counting lines that match `watch` (e.g. pino warn/error lines).
 */
export function startChild(name, cmd, args, opts = {}) {
  installHandlers();
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  let tail = '';
  const info = { name, child, pid: child.pid, watched: [], stats: [], output: () => tail };
  const onData = (buf) => {
    const s = buf.toString();
    tail = (tail + s).slice(-65536);
    for (const m of s.matchAll(/^stats .*$/gm)) info.stats.push(m[0]);
    if (opts.onOutput) opts.onOutput(s);
    if (opts.watch) {
      for (const line of s.split('\n')) {
        if (line !== '' && opts.watch.test(line) && info.watched.length < 200) info.watched.push(line.slice(0, 500));
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  info.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  child.once('error', (err) => {
    tail += `\n[spawn error] ${err.message}`;
  });
  return info;
}

/** Stops a child (whole group): SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(info, graceMs = 4000) {
  if (info === undefined) return;
  const { child } = info;
  if (child.exitCode !== null || child.signalCode !== null) return;
  killGroup(child, 'SIGTERM');
  const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await info.exited;
  clearTimeout(t);
  // The group may still hold a grandchild (nginx worker): make sure.
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // nothing left
  }
}

export async function stopAll() {
  await Promise.all([...children].map((c) => stopChild({ child: c, exited: new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', r))) })));
}

export function makeTempDir(prefix = 'turnout-bench-') {
  installHandlers();
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

export function removeTempDir(d) {
  tempDirs.delete(d);
  rmSync(d, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). Distinct within this process. */
const handedOut = new Set();
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen(0, HOST, () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `url` until it answers with a status accepted by `ok` (default 2xx), or throws after
 * `timeoutMs`. `child` (from startChild) makes a dead child fail fast with its output.
 */
export async function waitForHttp(url, { timeoutMs = 15000, child, headers, ok = (s) => s >= 200 && s < 300 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child && (child.child.exitCode !== null || child.child.signalCode !== null)) {
      throw new Error(`${child.name} exited (${child.child.exitCode ?? child.child.signalCode}) before answering ${url}:\n${child.output()}`);
    }
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (ok(res.status)) return res.status;
      last = `status ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not become ready in ${timeoutMs} ms (${last})${child ? `\n${child.name} output:\n${child.output()}` : ''}`);
}

/** Starts bench/backend.mjs listening on `ports` (one process, one listener per port). */
export async function startBackend(ports, size, extra = {}) {
  const b = startChild('backend', process.execPath, [path.join(BENCH_DIR, 'backend.mjs'), '--ports', ports.join(','), '--size', String(size)], extra);
  for (const p of ports) await waitForHttp(`http://${HOST}:${p}/`, { child: b });
  return b;
}

/** Runs autocannon in this process; resolves with its result. */
export function cannon(opts) {
  return new Promise((resolve, reject) => {
    const inst = autocannon({ connections: 50, pipelining: 1, duration: 5, ...opts }, (err, res) => (err ? reject(err) : resolve(res)));
    // No progress bar / table: we print our own lines.
    inst.on('error', () => undefined);
  });
}

/**
 * `over(group, a, b, key)`: target a's figure over target b's in `results[group]`, or undefined
 * when either is missing or b's is 0 (the ratios the bench reports).
 */
export function ratioOver(results) {
  return (group, a, b, k) => {
    const x = results[group]?.[a]?.[k];
    const y = results[group]?.[b]?.[k];
    return typeof x === 'number' && typeof y === 'number' && y > 0 ? x / y : undefined;
  };
}

/** The figures we keep from an autocannon result. */
export function summarize(r) {
  return {
    rps: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    requests: r.requests.total,
    bytesPerSec: r.throughput.average,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    resets: r.resets ?? 0,
    durationS: r.duration,
  };
}

export function median(xs) {
  const a = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return undefined;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function machineInfo() {
  const cpus = os.cpus();
  let commit;
  let dirty;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== '';
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit,
    srcDirty: dirty,
  };
}

export function writeResult(name, data) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, name);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Prints rows (arrays of strings) as an aligned text table; first row is the header. */
export function table(rows) {
  const widths = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  return out.join('\n');
}

export const fmt = {
  int: (x) => (x === undefined ? '-' : Math.round(x).toLocaleString('en-US')),
  ms: (x) => (x === undefined ? '-' : `${Number(x).toFixed(x < 10 ? 2 : 1)}`),
  ratio: (x) => (x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(2)}×`),
  pct: (x) => (x === undefined ? '-' : `${x.toFixed(2)} %`),
};

/** Writes a turnout YAML config (as JSON, which is valid YAML) into `dir`; returns the file. */
export function writeTurnoutConfig(dir, name, doc) {
  const file = path.join(dir, name);
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

export const ADMIN_TOKEN = 'bench-token';

/**
 * The proxy bench's turnout config: memory store, log level warn, no access log, one service routing
 * everything to one pool of `backendPorts` (ids b1, b2, …), no health check. Used by run.mjs and
 * profile.mjs so both measure the same thing.
 */
export function turnoutBenchConfig(port, adminPort, backendPorts) {
  return {
    listen: { host: HOST, port },
    admin: { host: HOST, port: adminPort },
    state: { store: 'memory' },
    log: { level: 'warn', access: false },
    services: {
      bench: {
        routes: [{ host: '*', pathPrefix: '/' }],
        pools: { main: backendPorts.map((p, i) => ({ id: `b${i + 1}`, url: `http://${HOST}:${p}` })) },
        split: { main: 100 },
      },
    },
  };
}

/**
 * Starts `node [nodeArgs] bin/turnout.js serve --config FILE --workers N` and waits for its admin
 * /readyz. `turnout serve` is a supervisor (listener, admin API, store, health checks) plus N worker
 * processes serving the data plane; `workers` is always passed (default 1, turnout's own default)
 * so a bench does not change its meaning if the default does. `inProcess: true` instead runs
 * bench/inproc-turnout.mjs: the same config with the data plane in the one process (no workers,
 * as tests and embedders run it): a reference for what the supervisor + worker split costs.
 * Returns the child info (`workers` set to the count, 0 for in-process); `watch` collects its
 * warn/error log lines (pino levels 40+). `nodeArgs` are node's own flags (e.g. `--cpu-prof`); they
 * reach the supervisor only (turnout forks its workers with no exec flags). Measure CPU with
 * `cpuTree(t.pid)` (supervisor + workers), not `cpuSeconds(t.pid)` (the supervisor alone).
 * `node`: the node binary that runs turnout (its workers are forked with the same one).
 */
export async function startTurnout(configFile, adminPort, { readyTimeoutMs = 30000, nodeArgs = [], workers = 1, inProcess = false, env = {}, node = process.execPath } = {}) {
  const args = inProcess
    ? [...nodeArgs, path.join(BENCH_DIR, 'inproc-turnout.mjs'), '--config', configFile]
    : [...nodeArgs, path.join(ROOT, 'bin', 'turnout.js'), 'serve', '--config', configFile, '--workers', String(workers)];
  const t = startChild('turnout', node, args, {
    env: { TURNOUT_ADMIN_TOKEN: ADMIN_TOKEN, TURNOUT_LOG_FORMAT: 'json', NODE_ENV: 'production', ...env },
    watch: /"level":\s*(4|5|6)0/,
  });
  t.workers = inProcess ? 0 : workers;
  await waitForHttp(`http://${HOST}:${adminPort}/readyz`, { child: t, timeoutMs: readyTimeoutMs });
  return t;
}

export function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** CPU time (user+system) of one process in seconds, from /proc/<pid>/stat (all its threads). */
export function cpuSeconds(pid) {
  return procCpu(pid).self;
}

/**
 * A process's own CPU seconds (`self`: utime + stime) and those of its children that exited and
 * were waited for (`reaped`: cutime + cstime), from /proc/<pid>/stat. Throws when it is gone.
 */
function procCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17.
  const t = clockTicks();
  return { self: (Number(rest[11]) + Number(rest[12])) / t, reaped: (Number(rest[13]) + Number(rest[14])) / t };
}

/** Every process's parent, from one pass over /proc (pid -> ppid). */
function parentMap() {
  const parents = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // after "pid (comm) ": field 3 state, field 4 ppid
      parents.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return parents;
}

let childrenFiles;
/** A process's direct children: /proc/<pid>/task/<tid>/children when the kernel has it, else undefined. */
function childrenOf(pid) {
  if (childrenFiles === false) return undefined;
  let out;
  try {
    out = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c !== '') out.push(Number(c));
    }
    childrenFiles = true;
  } catch (err) {
    // No children files (CONFIG_PROC_CHILDREN off): scan /proc for parents instead, from now on.
    if (childrenFiles === undefined && err.code === 'ENOENT' && existsSync(`/proc/${pid}`)) childrenFiles = false;
    return undefined;
  }
  return out;
}

/** `pid` and all its descendants (children, their children, …), `pid` first. */
export function processTree(pid) {
  const tree = [pid];
  let parents;
  for (let i = 0; i < tree.length; i++) {
    let kids = childrenOf(tree[i]);
    if (kids === undefined) {
      parents ??= parentMap();
      kids = [];
      for (const [p, pp] of parents) if (pp === tree[i]) kids.push(p);
    }
    for (const k of kids) if (!tree.includes(k)) tree.push(k);
  }
  return tree;
}

/**
 * A CPU sample of a process tree (turnout's supervisor and its workers, nginx's master and worker):
 * the tree's pids as they are now, each one's own CPU seconds (`byPid`), and `total`: every live
 * process's own time plus what each has reaped from exited children, so a worker that exits
 * during a window still counts (its time moves into its parent's cutime when it is waited for).
 * Take one at the start and one at the end of a window, and compare with `cpuTreeDelta`.
 */
export function cpuTree(pid) {
  const byPid = new Map();
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const c = procCpu(p);
      byPid.set(p, c.self);
      total += c.self + c.reaped;
    } catch {
      // exited between the listing and the read: counted by its parent once reaped
    }
  }
  return { root: pid, byPid, total };
}

/**
 * CPU seconds a tree used between two samples: `total` (whole tree), `root` (the root process
 * alone: turnout's supervisor), `others` (total - root: the workers), `byPid` (each process seen
 * at the end; one that appeared during the window counts from 0), and the pid sets at start and
 * end (they differ when a process started or exited meanwhile).
 */
export function cpuTreeDelta(start, end) {
  const byPid = {};
  for (const [p, s] of end.byPid) byPid[p] = s - (start.byPid.get(p) ?? 0);
  const total = end.total - start.total;
  const root = (end.byPid.get(end.root) ?? 0) - (start.byPid.get(start.root) ?? 0);
  return { total, root, others: total - root, byPid, pidsAtStart: [...start.byPid.keys()], pidsAtEnd: [...end.byPid.keys()] };
}

/** CPU seconds of a process and all its descendants so far (see cpuTree). */
export function treeCpuSeconds(pid) {
  return cpuTree(pid).total;
}

let ticks;
function clockTicks() {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** Logs a progress line to stderr (stdout keeps the tables). */
export function progress(msg) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
}

/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat). */
export function machineBusySeconds() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest counted in user)
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
  return busy / clockTicks();
}

/** Busy CPU seconds of each core so far (cpu0, cpu1, … lines of /proc/stat), in core order. */
export function coreBusySeconds() {
  const out = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    out[Number(m[1])] = (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) / clockTicks();
  }
  return out;
}

/** Asks bench/backend.mjs for its counters (SIGUSR2 → "stats connections=N requests=M"). */
export async function backendStats(info) {
  const n = info.stats.length;
  process.kill(info.pid, 'SIGUSR2');
  for (let i = 0; i < 100 && info.stats.length === n; i++) await sleep(10);
  const m = /stats connections=(\d+) requests=(\d+)/.exec(info.stats[info.stats.length - 1] ?? '');
  return m && info.stats.length > n ? { connections: Number(m[1]), requests: Number(m[2]) } : undefined;
}

// ---------------------------------------------------------------------------------------------
// System commands (nginx, haproxy) and nginx as a bench peer.

function hasCommand(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Tries to install a system package when its command is missing (root, apt; never with
 * BENCH_NO_INSTALL). Returns whether the command exists; why not goes into `notes`.
 */
export function ensureCommand(cmd, pkg, notes) {
  if (hasCommand(cmd)) return true;
  if (process.env.BENCH_NO_INSTALL) {
    notes.push(`${cmd} not installed (BENCH_NO_INSTALL set): skipped`);
    return false;
  }
  progress(`${cmd} missing: trying apt-get install -y ${pkg}`);
  try {
    execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`], { stdio: 'ignore', timeout: 300_000 });
  } catch (err) {
    notes.push(`${cmd}: apt-get install ${pkg} failed (${err.message.split('\n')[0]}): skipped`);
    return false;
  }
  if (!hasCommand(cmd)) {
    notes.push(`${cmd}: still missing after apt-get install ${pkg}: skipped`);
    return false;
  }
  return true;
}

/**
 * nginx as the benches run it: `worker_processes 1`, per path prefix an upstream of `routes[prefix]`
 * (backend ports) with `keepalive 64`, HTTP/1.1 upstream, access log off, X-Forwarded-For, buffers
 * big enough that a 64 KiB answer or request body stays in memory (the defaults spill to temp files).
 */
export function nginxConfig(prefix, port, routes) {
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  const names = Object.keys(routes).map((_, i) => `be${i === 0 ? '' : i + 1}`);
  const upstreams = Object.values(routes).map(
    (ports, i) => `  upstream ${names[i]} {
${ports.map((p) => `    server ${HOST}:${p};`).join('\n')}
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }`,
  );
  const locations = Object.keys(routes).map(
    (loc, i) => `    location ${loc} {
      proxy_pass http://${names[i]};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      # Keep a 64 KiB response in memory buffers (the default 8 x 4k would spill to a temp file).
      proxy_buffer_size 8k;
      proxy_buffers 16 8k;
    }`,
  );
  return `${user}worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  # A 64 KiB request body stays in memory (the default 16k would write it to a temp file).
  client_body_buffer_size 128k;
  proxy_temp_path ${prefix}/proxy_temp;
  fastcgi_temp_path ${prefix}/fastcgi_temp;
  uwsgi_temp_path ${prefix}/uwsgi_temp;
  scgi_temp_path ${prefix}/scgi_temp;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
${upstreams.join('\n')}
  server {
    listen ${HOST}:${port};
${locations.join('\n')}
  }
}
`;
}

/** Starts nginx (`daemon off`, its own prefix under `tmp`) on `port` with `routes` (see nginxConfig). */
export function startNginx(tmp, port, routes) {
  const prefix = path.join(tmp, 'nginx');
  mkdirSync(prefix, { recursive: true });
  chmodSync(tmp, 0o755);
  chmodSync(prefix, 0o755);
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig(prefix, port, routes));
  return startChild('nginx', 'nginx', ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;']);
}

// ---------------------------------------------------------------------------------------------
// Memory of a process tree: minor page faults and RSS, from /proc/<pid>/stat.

let pageSize;
function pageBytes() {
  if (pageSize === undefined) {
    try {
      pageSize = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096;
    } catch {
      pageSize = 4096;
    }
  }
  return pageSize;
}

/**
 * Minor page faults and RSS of a process tree (turnout's supervisor and workers, nginx's master
 * and worker), summed over its processes: `minflt` (field 10, plus cminflt, field 11: exited and
 * reaped children's), `rssBytes` (field 24, resident pages). Sample at both ends of a window.
 */
export function memTree(pid) {
  let minflt = 0;
  let rssBytes = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0] is field 3: minflt is field 10, cminflt 11, rss 24.
      minflt += Number(rest[7]) + Number(rest[8]);
      rssBytes += Number(rest[21]) * pageBytes();
    } catch {
      // exited meanwhile
    }
  }
  return { minflt, rssBytes };
}
