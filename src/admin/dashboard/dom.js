// @ts-check
/**
 * The dashboard's browser script, part 1 of 4 (index.html lists them in order): the types it
 * reads, DOM and number helpers, pool colours and the sparkline. The admin app inlines the four
 * files, in that order, into one script in one function scope (see dashboard-route.ts), so these
 * files share their top-level names the way tsc checks them: as scripts of one global scope.
 * Everything taken from data is inserted with textContent and DOM APIs, never as HTML.
 */

/** @typedef {import('../../telemetry/index.js').TrafficSnapshot} TrafficSnapshot */
/** @typedef {import('../../telemetry/index.js').ServiceTraffic} ServiceTraffic */
/** @typedef {import('../../telemetry/index.js').PoolTraffic} PoolTraffic */
/** @typedef {import('../../telemetry/index.js').BackendTraffic} BackendTraffic */
/** @typedef {import('../schemas.js').ServiceAnswer} ServiceAnswer */
/** @typedef {import('../schemas.js').ErrorAnswer} ErrorAnswer */
/** @typedef {import('../schemas.js').EventView} EventView */
/** @typedef {import('../schemas.js').RolloutAnswer} RolloutAnswer */
/** @typedef {import('../schemas.js').RolloutViewT} RolloutView */
/** @typedef {import('../schemas.js').FleetAnswer} FleetAnswer */

const SVGNS = 'http://www.w3.org/2000/svg';
/** Snapshots a sparkline shows (one a second). */
const HISTORY = 60;
/** @type {Readonly<Record<string, string>>} */
const NAMED = { blue: '#3b7be0', green: '#2a9d5c', canary: '#d19a12', yellow: '#d19a12', red: '#d9463b', orange: '#e07b1a', purple: '#8559d6', stable: '#3b7be0' };
const PALETTE = ['#3b7be0', '#2a9d5c', '#d19a12', '#8559d6', '#14918a', '#d9463b', '#6b7b8c'];

/**
 * The element with this id, of this type; a page without it is a broken page.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} type
 * @returns {T}
 */
function byId(id, type) {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error('dashboard: #' + id + ' is missing');
  return e;
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [cls]
 * @param {string | number} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

/** @param {HTMLElement} td @param {string} text @param {string} [cls] */
function badge(td, text, cls) {
  td.append(el('span', 'badge ' + (cls || text), text));
}

// --- number and time formatting ---
/** @param {unknown} v @returns {number} */
const num = (v) => (typeof v === 'number' && isFinite(v) ? v : 0);
/** @param {number} v */
function fmtRps(v) {
  v = num(v);
  if (v === 0) return '0';
  if (v >= 100) return String(Math.round(v));
  return v < 1 ? v.toFixed(2) : v.toFixed(1);
}
/** @param {number} v @param {boolean} idle */
function fmtMs(v, idle) {
  v = num(v);
  if (idle && v === 0) return '–';
  return v < 10 ? v.toFixed(1) : String(Math.round(v));
}
/** A share (0..1) as a percentage: "0%", "<0.1%", "2.5%", "12%". @param {number} rate */
function fmtRate(rate) {
  const p = num(rate) * 100;
  return p === 0 ? '0%' : (p < 0.1 ? '<0.1%' : (p < 10 ? p.toFixed(1) : String(Math.round(p))) + '%');
}
/** @param {HTMLElement} td @param {number} rate */
function errCell(td, rate) {
  const p = num(rate) * 100;
  td.textContent = fmtRate(rate);
  if (p >= 5) td.classList.add('bad'); else if (p >= 1) td.classList.add('warn');
}
/** An ISO time as the local clock time, or as given when it does not parse. @param {string} iso */
function fmtTime(iso) {
  const t = new Date(iso);
  return isNaN(t.getTime()) ? String(iso) : t.toLocaleTimeString();
}
/** Seconds from now to an ISO time ("in 42 s") or since it ("3 s ago"). @param {string} iso */
function fmtFromNow(iso) {
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (!isFinite(s)) return '';
  if (s === 0) return 'now';
  return s > 0 ? 'in ' + s + ' s' : -s + ' s ago';
}

// --- colours ---
/** @param {readonly { name: string }[]} pools @returns {Map<string, string>} */
function poolColours(pools) {
  /** @type {Map<string, string>} */
  const out = new Map();
  const used = new Set();
  for (const p of pools) {
    const c = NAMED[p.name.toLowerCase()];
    if (c !== undefined && Object.hasOwn(NAMED, p.name.toLowerCase()) && !used.has(c)) { out.set(p.name, c); used.add(c); }
  }
  let i = 0;
  for (const p of pools) {
    if (out.has(p.name)) continue;
    let c = PALETTE[i % PALETTE.length] || '';
    for (let k = 0; k < PALETTE.length && used.has(c); k++) c = PALETTE[++i % PALETTE.length] || '';
    out.set(p.name, c); used.add(c); i++;
  }
  return out;
}

// --- sparkline (inline SVG) ---
/** @param {number[]} values @param {string} colour */
function sparkline(values, colour) {
  const w = 96, h = 24, pad = 2;
  const svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
  svg.setAttribute('role', 'img');
  const max = Math.max(1, ...values);
  const step = (w - 2 * pad) / (HISTORY - 1);
  const x0 = w - pad - (values.length - 1) * step;
  const pts = values.map((v, i) => (x0 + i * step).toFixed(1) + ',' + (h - pad - (num(v) / max) * (h - 2 * pad)).toFixed(1));
  const title = document.createElementNS(SVGNS, 'title');
  title.textContent = 'rps over the last ' + values.length + ' snapshots, max ' + fmtRps(Math.max(0, ...values));
  svg.append(title);
  const base = document.createElementNS(SVGNS, 'line');
  base.setAttribute('x1', String(pad)); base.setAttribute('x2', String(w - pad));
  base.setAttribute('y1', String(h - pad + 0.5)); base.setAttribute('y2', String(h - pad + 0.5));
  base.setAttribute('stroke', 'currentColor'); base.setAttribute('stroke-opacity', '0.2');
  svg.append(base);
  if (values.length > 1) {
    const area = document.createElementNS(SVGNS, 'polygon');
    area.setAttribute('points', x0.toFixed(1) + ',' + (h - pad) + ' ' + pts.join(' ') + ' ' + (w - pad) + ',' + (h - pad));
    area.setAttribute('fill', colour); area.setAttribute('fill-opacity', '0.15');
    const line = document.createElementNS(SVGNS, 'polyline');
    line.setAttribute('points', pts.join(' '));
    line.setAttribute('fill', 'none'); line.setAttribute('stroke', colour);
    line.setAttribute('stroke-width', '1.5'); line.setAttribute('stroke-linejoin', 'round');
    svg.append(area, line);
  }
  return svg;
}

/**
 * A cell of a table row, labelled for the narrow layout (where rows become grids of labelled
 * figures); the `name` cell spans the row there instead.
 * @param {HTMLTableRowElement} tr @param {string} key @param {string} label @param {string} cls @param {string} [text]
 */
function labelledCell(tr, key, label, cls, text) {
  const td = el('td', (cls + ' c-' + key).trim());
  if (key === 'name') td.classList.add('name'); else td.dataset.label = label;
  if (text !== undefined) td.textContent = text;
  tr.append(td);
  return td;
}
