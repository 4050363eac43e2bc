// Request-head parsing micro-benchmark, for the engine's parser decision ("a well-tested parser
// (llhttp, as Node uses it) behind one small module, or a strict parser of our own, by measurement
// and by the rejection corpus"). This is the measurement half.
//
//   npm run bench:parser               (builds first)
//   PARSER_ITERATIONS=1000000 node bench/parser.mjs
//
// Parsers, each fed one complete request head per call, the same Buffer every time:
// - llhttp: Node's own, through the binding node:http uses (HTTPParser from node:_http_common;
//   process.binding('http_parser') as a fallback). One parser for all calls, like one keep-alive
//   connection; kOnHeadersComplete returns 1 (no body: the message ends with the head) and receives
//   the method, url and header strings the way node:http gets them.
// - turnout: parseRequestHead from dist/proxy/parser.js (the engine's own parser) when it is built;
//   otherwise "turnout parser not built yet" and the rest runs. Its API lives in turnoutAdapter().
// - references: Buffer#indexOf("\r\n\r\n") (what bench/floor.mjs does: finding the end, no parsing)
//   and http-parser-js (a pure-JS parser, autocannon's dependency) when it can be resolved.
//
// Env: PARSER_ITERATIONS (per timed run, default 1e6), PARSER_RUNS (default 5, interleaved; the
// figure is the median), PARSER_WARMUP (iterations per parser and head before timing, default
// 2e5), PARSER_MAX_RUN_MS (time bound per timed run, default 3000: a slow parser runs fewer
// iterations). Results: results/parser.json.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, machineInfo, median, progress, table, writeResult } from './lib.mjs';

const require = createRequire(import.meta.url);
const ITERATIONS = Number(process.env.PARSER_ITERATIONS ?? 1e6);
const RUNS = Number(process.env.PARSER_RUNS ?? 5);
const WARMUP = Number(process.env.PARSER_WARMUP ?? 2e5);
const MAX_RUN_MS = Number(process.env.PARSER_MAX_RUN_MS ?? 3000);
const MAX_HEADER_SIZE = 16384;

// --- the request heads ----------------------------------------------------------------------

const crlf = (lines) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');

/** Five representative heads: name → Buffer holding exactly one complete head. */
function requestHeads() {
  const heads = {
    // What autocannon sends in npm run bench (lib/httpRequestBuilder.js).
    'autocannon GET': crlf(['GET / HTTP/1.1', 'Host: 127.0.0.1:8080', 'Connection: keep-alive']),
    // A browser navigation: 12 headers, cookies.
    'browser GET, 12 headers': crlf([
      'GET /account/orders?page=2&sort=-created HTTP/1.1',
      'Host: shop.example.com',
      'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
      'Accept-Language: en-GB,en;q=0.9,de;q=0.8',
      'Accept-Encoding: gzip, deflate, br, zstd',
      'Referer: https://shop.example.com/account',
      'Cookie: session=3f9a1c7e5b2d4a6f8e0c1b3d5f7a9c2e; _ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; prefs=theme%3Ddark%26lang%3Den; cart=7c1e',
      'Connection: keep-alive',
      'Upgrade-Insecure-Requests: 1',
      'Sec-Fetch-Dest: document',
      'Sec-Fetch-Mode: navigate',
      'Sec-Fetch-Site: same-origin',
    ]),
    // An API call with a JSON body (the body is not part of the head).
    'POST, Content-Length': crlf([
      'POST /v1/payments HTTP/1.1',
      'Host: api.example.com',
      'Content-Type: application/json',
      'Content-Length: 348',
      'Accept: application/json',
      'Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiaWF0IjoxNzAwMDAwMDAwfQ.c2lnbmF0dXJlLW5vdC1yZWFs',
      'X-Request-Id: 6f1c2a9e-4b7d-4e0a-9c3f-2d8b1a7e5c40',
      'User-Agent: okhttp/4.12.0',
    ]),
    // A streamed upload behind another proxy.
    'POST, chunked': crlf([
      'POST /ingest/batch HTTP/1.1',
      'Host: ingest.example.com',
      'Transfer-Encoding: chunked',
      'Content-Type: application/x-ndjson',
      'X-Forwarded-For: 203.0.113.7, 10.0.0.2',
      'X-Forwarded-Proto: https',
      'User-Agent: fluent-bit/3.0.4',
    ]),
  };
  // A 4 KiB header block: long cookies, a JWT, tracing headers; padded to exactly 4096 bytes.
  const lines = [
    'GET /dashboard/widgets/revenue?from=2026-01-01&to=2026-03-31&granularity=day HTTP/1.1',
    'Host: app.example.com',
    `Cookie: ${Array.from({ length: 24 }, (_, i) => `c${i}=${'v'.repeat(40)}${i}`).join('; ')}`,
    `Authorization: Bearer ${'eyJ'.padEnd(700, 'aB3_-')}`,
    'Accept: application/json, text/plain, */*',
    'Accept-Language: en-US,en;q=0.9',
    'Accept-Encoding: gzip, deflate, br',
    'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    'tracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    'X-Forwarded-For: 198.51.100.23, 10.1.2.3, 10.4.5.6',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: app.example.com',
    'X-Request-Id: 2b9f8c1e-7a6d-4c3b-9e2f-1a0b9c8d7e6f',
    'User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
    'Referer: https://app.example.com/dashboard',
    'Connection: keep-alive',
  ];
  const base = crlf([...lines, 'X-Padding: ']).length;
  lines.push(`X-Padding: ${'p'.repeat(4096 - base)}`);
  heads['4 KiB header block'] = crlf(lines);
  if (heads['4 KiB header block'].length !== 4096) throw new Error('4 KiB head is not 4096 bytes');
  return heads;
}

/** Header count of a head (lines between the request line and the blank line). */
const headerCount = (buf) => buf.toString('latin1').split('\r\n').length - 3;

// --- the parsers: each { name, parse(buf) → offset past the head | 0 incomplete | <0 error } ----

/** Node's HTTPParser (llhttp): from node:_http_common (no warning), else process.binding. */
function loadNodeHTTPParser() {
  try {
    const { HTTPParser } = require('node:_http_common');
    if (typeof HTTPParser === 'function') return { HTTPParser, via: "require('node:_http_common').HTTPParser" };
  } catch {
    // fall through
  }
  process.noDeprecation = true; // DEP0111: process.binding is deprecated (still works on Node 20)
  const { HTTPParser } = process.binding('http_parser');
  return { HTTPParser, via: "process.binding('http_parser').HTTPParser" };
}

function llhttpParser() {
  const { HTTPParser, via } = loadNodeHTTPParser();
  const parser = new HTTPParser();
  const seen = { headers: 0, method: undefined, url: undefined, calls: 0 };
  // More than 32 headers (or a head split over execute calls) arrive through kOnHeaders first.
  parser[HTTPParser.kOnHeaders] = (headers) => {
    seen.headers += headers.length / 2;
  };
  parser[HTTPParser.kOnHeadersComplete] = (_major, _minor, headers, method, url) => {
    seen.calls++;
    seen.headers += (headers?.length ?? 0) / 2;
    seen.method = method;
    seen.url = url;
    return 1; // no body: the message ends with its head, the parser is ready for the next one
  };
  parser[HTTPParser.kOnBody] = () => undefined;
  parser[HTTPParser.kOnMessageComplete] = () => undefined;
  parser[HTTPParser.kOnExecute] = () => undefined;
  // (type, async resource, max header size, leniency flags): as node:http's server does, strict.
  parser.initialize(HTTPParser.REQUEST, {}, MAX_HEADER_SIZE, HTTPParser.kLenientNone ?? 0);
  return {
    name: 'llhttp (node binding)',
    via,
    parse(buf) {
      const r = parser.execute(buf);
      return typeof r === 'number' ? r : -1;
    },
    /** One parse with what the callback saw, for the correctness check. */
    inspect(buf) {
      seen.headers = 0;
      seen.calls = 0;
      const r = this.parse(buf);
      return { r, headers: seen.headers, calls: seen.calls, url: seen.url };
    },
  };
}

/**
 * The one place that knows turnout's parser API (being written now: fix it here when it changes).
 * Expected: parseRequestHead(buf, start, end, options, head) → offset just past the head (> 0), 0 when
 * incomplete, < 0 on error; `head` a reusable RequestHead.
 */
function turnoutAdapter(mod) {
  const { parseRequestHead, RequestHead } = mod;
  if (typeof parseRequestHead !== 'function' || typeof RequestHead !== 'function') {
    throw new Error(`dist/proxy/parser.js exports ${Object.keys(mod).join(', ') || 'nothing'}, not parseRequestHead and RequestHead`);
  }
  const options = { maxHeaderSize: MAX_HEADER_SIZE, allowUnderscoreHeaders: false };
  const head = new RequestHead();
  return { parse: (buf) => parseRequestHead(buf, 0, buf.length, options, head), head };
}

async function turnoutParser() {
  const file = path.join(ROOT, 'dist', 'proxy', 'parser.js');
  if (!existsSync(file)) return { missing: 'dist/proxy/parser.js does not exist' };
  try {
    const { parse, head } = turnoutAdapter(await import(pathToFileURL(file).href));
    return { name: 'turnout', parse, head };
  } catch (err) {
    return { missing: err.message.split('\n')[0] };
  }
}

function httpParserJs() {
  let HTTPParser;
  try {
    ({ HTTPParser } = require('http-parser-js'));
  } catch {
    return undefined;
  }
  const parser = new HTTPParser(HTTPParser.REQUEST);
  parser[HTTPParser.kOnHeadersComplete] = () => true; // skip body
  parser[HTTPParser.kOnBody] = () => undefined;
  parser[HTTPParser.kOnMessageComplete] = () => undefined;
  return {
    name: 'http-parser-js (ref.)',
    parse(buf) {
      const r = parser.execute(buf);
      return typeof r === 'number' ? r : -1;
    },
  };
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const scanOnly = { name: 'indexOf CRLFCRLF (ref.)', parse: (buf) => buf.indexOf(CRLFCRLF) + 4 };

// --- timing -----------------------------------------------------------------------------------

let sink = 0;
// The timing loop is compiled once per parser (new Function), so each loop's call site sees one
// parse function only (monomorphic), as it would inside the proxy.
const TIMER_BODY = `
  const deadline = performance.now() + maxMs;
  let done = 0;
  let acc = 0;
  const t0 = process.hrtime.bigint();
  while (done < n) {
    const batch = Math.min(1000, n - done);
    for (let i = 0; i < batch; i++) acc += parse(buf);
    done += batch;
    if (performance.now() > deadline) break;
  }
  return { ns: Number(process.hrtime.bigint() - t0), done, acc };
`;
/** A timer for one parser: (buf, n, maxMs) → ns per parse over up to n calls or maxMs. */
function makeTimer(parse) {
  const loop = new Function('parse', 'buf', 'n', 'maxMs', 'performance', 'process', TIMER_BODY);
  return (buf, n, maxMs) => {
    const r = loop(parse, buf, n, maxMs, performance, process);
    sink += r.acc;
    return { nsPerParse: r.ns / r.done, iterations: r.done };
  };
}

async function main() {
  const machine = machineInfo();
  const heads = requestHeads();
  const parsers = [llhttpParser()];
  const notes = [];
  const turnout = await turnoutParser();
  if (turnout.missing) {
    progress(`turnout parser not built yet (${turnout.missing}): benching llhttp and the references only`);
    notes.push(`turnout parser not built yet: ${turnout.missing}`);
  } else {
    parsers.push(turnout);
  }
  const pjs = httpParserJs();
  if (pjs) parsers.push(pjs);
  else notes.push('http-parser-js not resolvable from bench/: reference skipped');
  parsers.push(scanOnly);
  progress(`parser bench: ${parsers.map((p) => p.name).join(', ')}; ${Object.keys(heads).length} heads; ${RUNS} runs x up to ${ITERATIONS} parses (max ${MAX_RUN_MS} ms per run); node ${machine.node}, load average ${machine.loadAvgAtStart.join(' ')}`);
  progress(`llhttp via ${parsers[0].via}`);

  for (const p of parsers) p.time = makeTimer(p.parse);

  // Correctness first: every parser must consume each head exactly; llhttp must see its headers.
  const checks = [];
  const usable = new Map(parsers.map((p) => [p.name, new Set()]));
  for (const [name, buf] of Object.entries(heads)) {
    for (const p of parsers) {
      let ok;
      let detail;
      if (p.inspect) {
        const r = p.inspect(buf);
        ok = r.r === buf.length && r.calls === 1 && r.headers === headerCount(buf);
        detail = `returned ${r.r} of ${buf.length} bytes, ${r.headers} headers of ${headerCount(buf)}`;
      } else {
        const r = p.parse(buf);
        ok = r === buf.length;
        detail = `returned ${r} of ${buf.length} bytes`;
      }
      if (ok && p === turnout) {
        // A truncated head must come back as incomplete (0), or the figure means nothing.
        const r0 = p.parse(buf.subarray(0, buf.length - 2));
        if (r0 !== 0) {
          ok = false;
          detail += `; a head missing its last 2 bytes returned ${r0}, expected 0`;
        }
      }
      checks.push({ parser: p.name, head: name, ok, detail });
      if (ok) usable.get(p.name).add(name);
      else progress(`CHECK FAILED ${p.name} on "${name}": ${detail} (not timed)`);
    }
  }

  // Warm-up, then interleaved runs.
  for (const [name, buf] of Object.entries(heads)) {
    for (const p of parsers) if (usable.get(p.name).has(name)) p.time(buf, WARMUP, MAX_RUN_MS);
  }
  const samples = {};
  for (let run = 0; run < RUNS; run++) {
    for (const [name, buf] of Object.entries(heads)) {
      samples[name] ??= {};
      const order = parsers.map((_, i) => parsers[(i + run) % parsers.length]);
      for (const p of order) {
        if (!usable.get(p.name).has(name)) continue;
        (samples[name][p.name] ??= []).push(p.time(buf, ITERATIONS, MAX_RUN_MS));
      }
    }
    progress(`run ${run + 1}/${RUNS} done`);
  }

  const results = {};
  const ratios = {};
  for (const [name, buf] of Object.entries(heads)) {
    results[name] = { bytes: buf.length, headers: headerCount(buf), parsers: {} };
    for (const p of parsers) {
      const xs = samples[name]?.[p.name];
      if (!xs) {
        results[name].parsers[p.name] = { failed: checks.find((c) => c.parser === p.name && c.head === name)?.detail };
        continue;
      }
      const ns = xs.map((x) => x.nsPerParse);
      const med = median(ns);
      results[name].parsers[p.name] = {
        nsPerParse: med,
        min: Math.min(...ns),
        max: Math.max(...ns),
        iterations: xs.map((x) => x.iterations),
        mbPerS: buf.length / med / 1e-3 / 1e6,
      };
    }
    const t = results[name].parsers.turnout?.nsPerParse;
    const l = results[name].parsers['llhttp (node binding)']?.nsPerParse;
    ratios[name] = { 'turnout/llhttp': t !== undefined && l !== undefined ? t / l : undefined };
  }

  const doc = {
    bench: 'request-head parsing (bench/parser.mjs)',
    machine,
    settings: { iterations: ITERATIONS, runs: RUNS, warmup: WARMUP, maxRunMs: MAX_RUN_MS, maxHeaderSize: MAX_HEADER_SIZE },
    llhttpVia: parsers[0].via,
    parsers: parsers.map((p) => p.name),
    turnoutParser: turnout.missing ? { built: false, reason: turnout.missing } : { built: true },
    results,
    ratios,
    checks,
    notes,
    sink: sink % 1000,
  };
  const file = writeResult('parser.json', doc);

  const names = parsers.map((p) => p.name);
  const rows = [['head', 'bytes', 'headers', ...names.map((n) => `${n} ns`), 'turnout/llhttp']];
  for (const [name, r] of Object.entries(results)) {
    rows.push([
      name,
      String(r.bytes),
      String(r.headers),
      ...names.map((n) => {
        const x = r.parsers[n];
        return x.nsPerParse === undefined ? 'FAILED' : x.nsPerParse.toFixed(0);
      }),
      ratios[name]['turnout/llhttp'] === undefined ? '-' : `${ratios[name]['turnout/llhttp'].toFixed(2)}×`,
    ]);
  }
  const out = [''];
  out.push(`request-head parsing — ${machine.date} — node ${machine.node}; median ns per parse over ${RUNS} runs (lower is better)`);
  out.push(table(rows));
  out.push('');
  if (turnout.missing) out.push(`turnout parser not built yet (${turnout.missing})`);
  for (const c of checks.filter((x) => !x.ok)) out.push(`CHECK FAILED: ${c.parser} on "${c.head}": ${c.detail}`);
  out.push(`llhttp via ${parsers[0].via}; kOnHeadersComplete gets the method, url and header strings, as node:http does.`);
  out.push(`results: ${path.relative(ROOT, file)}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`parser bench failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
