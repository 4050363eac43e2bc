/**
 * The live dashboard served at `GET /` on the admin listener: one self-contained page (inline CSS
 * and JS, no external assets: the admin listener may have no internet). It asks for the admin
 * token (kept in sessionStorage), reads `GET /v1/stream` with fetch and the Authorization header
 * (EventSource cannot send headers), parses the SSE `snapshot` events itself and reconnects with
 * backoff. Everything taken from data is inserted with textContent and DOM APIs, never as HTML.
 */

const STYLE = `
:root{--bg:#f6f7f9;--card:#fff;--fg:#1f2933;--muted:#66788a;--line:#e3e8ee;--soft:#f0f3f6;
--ok:#1f8a4c;--ok-bg:#e3f5ea;--on-accent:#fff;--warn:#a86400;--warn-bg:#fdf1dc;--bad:#c0362c;--bad-bg:#fbe6e4;--accent:#2f6fde;
color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#14181d;--card:#1c2128;--fg:#e3e8ee;--muted:#94a3b3;--line:#2c343e;--soft:#232a33;
--ok:#5ccf8a;--ok-bg:#173425;--on-accent:#0b1320;--warn:#f0b45a;--warn-bg:#3a2c14;--bad:#ff8a80;--bad-bg:#3d1d1b;--accent:#79a6ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{position:sticky;top:0;z-index:2;background:var(--card);border-bottom:1px solid var(--line)}
.bar{max-width:1240px;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.2rem}
h1{font-size:1.05rem;margin:0;font-weight:650;letter-spacing:.01em}
h1 span{color:var(--muted);font-weight:400}
.meta{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem .9rem;color:var(--muted);font-size:.86rem}
.meta b{color:var(--fg);font-weight:600;font-variant-numeric:tabular-nums}
.pill{display:inline-flex;align-items:center;gap:.35rem;padding:.1rem .55rem;border-radius:999px;font-size:.8rem;background:var(--soft);color:var(--muted);white-space:nowrap}
.pill::before{content:"";width:.5rem;height:.5rem;border-radius:50%;background:currentColor}
.pill.live{background:var(--ok-bg);color:var(--ok)}
.pill.wait{background:var(--warn-bg);color:var(--warn)}
.pill.bad{background:var(--bad-bg);color:var(--bad)}
#stale{display:none}
body.stale #stale{display:inline-flex}
form{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin-left:auto}
input,select,button{font:inherit;color:inherit}
input,select{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.25rem .45rem}
input[type=password]{width:13rem}
input[type=number]{width:4.2rem}
button{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:.25rem .7rem;cursor:pointer}
button:hover{border-color:var(--muted)}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--on-accent)}
button:disabled{opacity:.5;cursor:default}
main{max-width:1240px;margin:0 auto;padding:1rem}
.banner{border-radius:8px;padding:.7rem 1rem;margin-bottom:1rem;background:var(--bad-bg);color:var(--bad);border:1px solid currentColor}
.banner[hidden]{display:none}
.hint{color:var(--muted);text-align:center;padding:3rem 1rem}
.svc{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.9rem 1rem 1rem;margin-bottom:1rem}
body.stale .svc{opacity:.6}
.svc-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:.3rem 1rem;margin-bottom:.6rem}
.svc-head h2{font-size:1.1rem;margin:0;font-weight:650}
.svc-rps{color:var(--muted);font-variant-numeric:tabular-nums}
.split{display:flex;height:1.6rem;border-radius:6px;overflow:hidden;background:var(--soft)}
.seg{display:flex;align-items:center;justify-content:center;color:#fff;font-size:.78rem;font-weight:600;white-space:nowrap;overflow:hidden;transition:width .4s}
.split .none{flex:1;display:flex;align-items:center;justify-content:center;color:var(--muted);font-size:.8rem}
.legend{display:flex;flex-wrap:wrap;gap:.2rem 1rem;margin:.35rem 0 .7rem;color:var(--muted);font-size:.84rem}
.dot{display:inline-block;width:.6rem;height:.6rem;border-radius:2px;margin-right:.35rem;vertical-align:-.02rem}
.tw{overflow-x:auto}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th.c-split{width:3.6rem}th.c-rps{width:4.2rem}th.c-trend{width:7.2rem}th.c-errors,th.c-p50,th.c-p99{width:4.5rem}th.c-inflight{width:5.2rem}
th{text-align:left;font-weight:500;color:var(--muted);font-size:.78rem;text-transform:uppercase;letter-spacing:.03em;padding:.3rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}
td{padding:.32rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}
th.n,td.n{text-align:right}
tr.pool td{background:var(--soft);font-weight:600}
tr.pool td.sum{font-weight:400;color:var(--muted);font-size:.84rem;white-space:normal}
tr.be td:first-child{padding-left:1.6rem;color:var(--fg)}
tr.empty td{color:var(--muted);font-style:italic;padding-left:1.6rem}
.spark{display:block}
.badge{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:.8rem;background:var(--soft);color:var(--muted)}
.badge.healthy,.badge.active{background:var(--ok-bg);color:var(--ok)}
.badge.unhealthy,.badge.ejected{background:var(--bad-bg);color:var(--bad)}
.badge.draining,.badge.maint{background:var(--warn-bg);color:var(--warn)}
.warn{color:var(--warn)}.bad{color:var(--bad);font-weight:600}.dim{color:var(--muted)}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1.2rem;margin-top:.8rem;padding-top:.7rem;border-top:1px dashed var(--line)}
.actions .grp{display:flex;align-items:center;gap:.35rem}
.actions label{color:var(--muted);font-size:.84rem}
.amsg{font-size:.86rem;min-height:1.2em;margin-top:.4rem}
.amsg.ok{color:var(--ok)}.amsg.err{color:var(--bad)}
/* Below the width the table needs: every row becomes a grid of labelled figures (3, 2, then 1 column). */
@media (max-width:1080px){
  table,tbody{display:block;width:100%}thead{display:none}
  tr{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));column-gap:1.5rem;border-bottom:1px solid var(--line);padding:.35rem 0}
  tr.pool{background:var(--soft);border-radius:6px;margin-top:.6rem;border-bottom:0}
  tr.pool td{background:none}
  td{border:0;display:flex;justify-content:space-between;align-items:center;gap:.5rem;padding:.1rem .5rem;min-width:0;white-space:normal}
  td.sum{text-align:right}
  td.c-weight{white-space:nowrap}
  td.n{text-align:right}
  td[data-label]::before{content:attr(data-label);color:var(--muted);font-weight:400;font-size:.74rem;text-transform:uppercase;letter-spacing:.03em;white-space:nowrap}
  td.name{grid-column:1/-1;justify-content:flex-start;font-weight:600;padding-bottom:.2rem}
  tr.be td:first-child{padding-left:.5rem}
  tr.empty td{grid-column:1/-1}
  td.blank{display:none}
}
@media (max-width:720px){tr{grid-template-columns:repeat(2,minmax(0,1fr));column-gap:1rem}}
@media (max-width:480px){tr{grid-template-columns:minmax(0,1fr)}}
@media (max-width:760px){
  .bar{padding:.5rem .7rem}form{margin-left:0;width:100%}input[type=password]{flex:1;width:auto}
  main{padding:.6rem}.svc{padding:.7rem}
}
`;

/** The page's one inline script (its sha256 goes into the CSP). No backticks or `${` in here. */
export const DASHBOARD_SCRIPT = String.raw`
'use strict';
(() => {
  const TOKEN_KEY = 'turnout.adminToken';
  const HISTORY = 60, STALE_MS = 3000, IDLE_MS = 10000, BASE_DELAY_MS = 1000, MAX_DELAY_MS = 15000;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const NAMED = { blue: '#3b7be0', green: '#2a9d5c', canary: '#d19a12', yellow: '#d19a12', red: '#d9463b', orange: '#e07b1a', purple: '#8559d6', stable: '#3b7be0' };
  const PALETTE = ['#3b7be0', '#2a9d5c', '#d19a12', '#8559d6', '#14918a', '#d9463b', '#6b7b8c'];

  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $('auth'), token: $('token'), forget: $('forget'), status: $('status'), rev: $('rev'), time: $('time'),
    stale: $('stale'), banner: $('banner'), services: $('services'),
  };
  const st = { token: '', gen: 0, ctrl: null, timer: 0, attempts: 0, lastAt: 0, lastByteAt: 0, live: false, retryAt: 0, why: '' };
  const series = new Map();
  const cards = new Map();

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function setStatus(text, kind) {
    ui.status.textContent = text;
    ui.status.className = 'pill' + (kind ? ' ' + kind : '');
  }
  function showBanner(text) {
    ui.banner.textContent = text;
    ui.banner.hidden = text === '';
  }
  function hint(text) {
    cards.clear();
    ui.services.replaceChildren(el('p', 'hint', text));
  }

  // --- number formatting ---
  const num = (v) => (typeof v === 'number' && isFinite(v) ? v : 0);
  function fmtRps(v) {
    v = num(v);
    if (v === 0) return '0';
    if (v >= 100) return String(Math.round(v));
    return v < 1 ? v.toFixed(2) : v.toFixed(1);
  }
  function fmtMs(v, idle) {
    v = num(v);
    if (idle && v === 0) return '–';
    return v < 10 ? v.toFixed(1) : String(Math.round(v));
  }
  function errCell(td, rate) {
    const p = num(rate) * 100;
    td.textContent = p === 0 ? '0%' : (p < 0.1 ? '<0.1%' : (p < 10 ? p.toFixed(1) : String(Math.round(p))) + '%');
    if (p >= 5) td.classList.add('bad'); else if (p >= 1) td.classList.add('warn');
  }

  // --- colours ---
  function poolColours(pools) {
    const out = new Map(), used = new Set();
    for (const p of pools) {
      const c = NAMED[String(p.name).toLowerCase()];
      if (Object.hasOwn(NAMED, String(p.name).toLowerCase()) && !used.has(c)) { out.set(p.name, c); used.add(c); }
    }
    let i = 0;
    for (const p of pools) {
      if (out.has(p.name)) continue;
      let c = PALETTE[i % PALETTE.length];
      for (let k = 0; k < PALETTE.length && used.has(c); k++) c = PALETTE[++i % PALETTE.length];
      out.set(p.name, c); used.add(c); i++;
    }
    return out;
  }

  // --- sparkline (inline SVG) ---
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

  // --- service cards ---
  const COLS = [
    ['name', 'Pool / backend', ''], ['split', 'Split', 'n'], ['rps', 'rps', 'n'], ['trend', 'Last 60 s', ''],
    ['errors', 'Errors', 'n'], ['p50', 'p50 ms', 'n'], ['p99', 'p99 ms', 'n'], ['inflight', 'In flight', 'n'],
    ['health', 'Health', ''], ['state', 'State', ''], ['ejected', 'Ejected', ''], ['weight', 'Weight / eff.', 'n'],
  ];

  function makeCard(name) {
    const root = el('section', 'svc');
    root.dataset.service = name;
    const head = el('div', 'svc-head');
    const rps = el('span', 'svc-rps');
    head.append(el('h2', '', name), rps);
    const split = el('div', 'split');
    split.setAttribute('role', 'img');
    const legend = el('div', 'legend');
    const table = el('table');
    const thead = el('thead'), hr = el('tr');
    for (const [key, label, cls] of COLS) hr.append(el('th', (cls + ' c-' + key).trim(), label));
    thead.append(hr);
    const tbody = el('tbody');
    table.append(thead, tbody);

    const actions = el('div', 'actions');
    const flipTo = el('select'); flipTo.setAttribute('aria-label', 'pool to flip to');
    const flipBtn = el('button', '', 'Flip');
    const canPool = el('select'); canPool.setAttribute('aria-label', 'canary pool');
    const canPct = el('input'); canPct.type = 'number'; canPct.min = '0'; canPct.max = '100'; canPct.step = '1'; canPct.value = '5';
    canPct.setAttribute('aria-label', 'canary percent');
    const canBtn = el('button', '', 'Set');
    const rbBtn = el('button', '', 'Rollback');
    const g1 = el('div', 'grp'); g1.append(el('label', '', 'Flip all traffic to'), flipTo, flipBtn);
    const g2 = el('div', 'grp'); g2.append(el('label', '', 'Canary'), canPool, canPct, el('label', '', '%'), canBtn);
    const g3 = el('div', 'grp'); g3.append(rbBtn);
    actions.append(g1, g2, g3);
    const amsg = el('div', 'amsg');
    amsg.setAttribute('role', 'status');
    const tw = el('div', 'tw');
    tw.append(table);
    root.append(head, split, legend, tw, actions, amsg);

    const card = { root, rps, split, legend, tbody, flipTo, canPool, poolKey: '', amsg, buttons: [flipBtn, canBtn, rbBtn] };
    const svcPath = '/v1/services/' + encodeURIComponent(name);
    flipBtn.addEventListener('click', () => {
      const to = flipTo.value;
      if (to && confirm('Send 100% of ' + name + ' traffic to ' + to + '?')) act(card, 'POST', svcPath + '/flip', { to }, 'flipped to ' + to);
    });
    canBtn.addEventListener('click', () => {
      const pool = canPool.value, percent = Number(canPct.value);
      if (!pool || !Number.isFinite(percent) || percent < 0 || percent > 100) { say(card, 'Canary percent must be between 0 and 100.', false); return; }
      if (confirm('Give ' + pool + ' ' + percent + '% of ' + name + ' traffic?')) act(card, 'POST', svcPath + '/canary', { pool, percent }, pool + ' set to ' + percent + '%');
    });
    rbBtn.addEventListener('click', () => {
      if (confirm('Restore the split of ' + name + ' before its last change?')) act(card, 'POST', svcPath + '/rollback', undefined, 'rolled back');
    });
    return card;
  }

  function say(card, text, ok) {
    card.amsg.textContent = text;
    card.amsg.className = 'amsg ' + (ok ? 'ok' : 'err');
  }

  async function act(card, method, path, body, done) {
    if (!st.token) { say(card, 'Enter the admin token first.', false); return; }
    for (const b of card.buttons) b.disabled = true;
    say(card, 'Sending…', true);
    try {
      const headers = { authorization: 'Bearer ' + st.token };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      if (!res.ok) {
        const err = data && data.error ? data.error : {};
        say(card, 'Refused (' + res.status + (err.code ? ' ' + err.code : '') + '): ' + (err.message || res.statusText || 'request failed'), false);
        return;
      }
      const split = data && data.service && data.service.split ? data.service.split : {};
      const parts = Object.keys(split).map((p) => p + ' ' + split[p] + '%');
      say(card, 'Done: ' + done + '. Split now ' + (parts.join(' · ') || 'empty') + (data && data.revision !== undefined ? ' (revision ' + data.revision + ')' : '') + '.', true);
    } catch (e) {
      say(card, 'Could not reach the admin API: ' + (e && e.message ? e.message : String(e)), false);
    } finally {
      for (const b of card.buttons) b.disabled = false;
    }
  }

  function setOptions(select, names) {
    const keep = select.value;
    select.replaceChildren(...names.map((n) => { const o = el('option', '', n); o.value = n; return o; }));
    if (names.includes(keep)) select.value = keep;
  }

  function cell(tr, key, text, extra) {
    const col = COLS.find((c) => c[0] === key);
    const td = el('td', (col[2] + ' c-' + key + ' ' + (extra || '')).trim());
    if (key === 'name') td.classList.add('name'); else td.dataset.label = col[1];
    if (text !== undefined) td.textContent = String(text);
    tr.append(td);
    return td;
  }
  function badge(td, text, cls) {
    td.append(el('span', 'badge ' + (cls || text), text));
  }
  function counts(list, pick) {
    const m = new Map();
    for (const b of list) m.set(pick(b), (m.get(pick(b)) || 0) + 1);
    return [...m.entries()].map(([k, n]) => n + ' ' + k).join(' · ');
  }

  function updateCard(card, svc) {
    const pools = Array.isArray(svc.pools) ? svc.pools : [];
    const colours = poolColours(pools);
    card.rps.textContent = fmtRps(svc.rps) + ' rps';

    // split bar + legend
    const total = pools.reduce((s, p) => s + num(p.split), 0);
    const segs = [];
    for (const p of pools) {
      const pct = num(p.split);
      if (pct <= 0) continue;
      const seg = el('div', 'seg', pct >= 12 ? p.name + ' ' + pct + '%' : (pct >= 5 ? pct + '%' : ''));
      seg.style.width = (total > 100 ? (pct / total) * 100 : pct) + '%';
      seg.style.background = colours.get(p.name);
      seg.title = p.name + ': ' + pct + '%';
      segs.push(seg);
    }
    if (segs.length === 0) segs.push(el('div', 'none', 'no pool has a share of the traffic'));
    card.split.replaceChildren(...segs);
    card.split.setAttribute('aria-label', 'split: ' + pools.map((p) => p.name + ' ' + num(p.split) + '%').join(', '));
    card.legend.replaceChildren(...pools.map((p) => {
      const s = el('span');
      const d = el('span', 'dot'); d.style.background = colours.get(p.name);
      s.append(d, document.createTextNode(p.name + ' ' + num(p.split) + '%'));
      return s;
    }));

    // rows
    const rows = [];
    for (const p of pools) {
      const key = svc.name + '\u0000' + p.name;
      const hist = series.get(key) || [];
      const backends = Array.isArray(p.backends) ? p.backends : [];
      const idle = num(p.rps) === 0;
      const tr = el('tr', 'pool');
      tr.dataset.pool = p.name;
      const nameTd = cell(tr, 'name');
      const dot = el('span', 'dot'); dot.style.background = colours.get(p.name);
      nameTd.append(dot, document.createTextNode(p.name));
      cell(tr, 'split', num(p.split) + '%');
      cell(tr, 'rps', fmtRps(p.rps), 'rps');
      cell(tr, 'trend').append(sparkline(hist, colours.get(p.name)));
      errCell(cell(tr, 'errors'), p.errorRate);
      cell(tr, 'p50', fmtMs(p.p50Ms, idle));
      cell(tr, 'p99', fmtMs(p.p99Ms, idle));
      cell(tr, 'inflight', String(num(p.inFlight)));
      cell(tr, 'health', counts(backends, (b) => b.health), 'sum');
      cell(tr, 'state', counts(backends, (b) => b.state), 'sum');
      const ej = backends.filter((b) => b.ejected).length;
      const ejTd = cell(tr, 'ejected', undefined, 'sum');
      if (ej > 0) badge(ejTd, ej + ' ejected', 'ejected'); else ejTd.textContent = backends.length ? 'none' : '';
      const ws = backends.reduce((s, b) => s + num(b.weight), 0), es = backends.reduce((s, b) => s + num(b.effectiveWeight), 0);
      cell(tr, 'weight', backends.length ? ws + ' / ' + es : '', 'sum');
      rows.push(tr);
      if (backends.length === 0) {
        const e = el('tr', 'empty'); const td = el('td', '', 'no backends in this pool'); td.colSpan = COLS.length; e.append(td); rows.push(e);
      }
      for (const b of backends) {
        const br = el('tr', 'be');
        br.dataset.backend = b.id;
        const bidle = num(b.rps) === 0;
        cell(br, 'name', b.id);
        cell(br, 'split', '', 'blank');
        cell(br, 'rps', fmtRps(b.rps), 'rps');
        cell(br, 'trend', '', 'blank');
        errCell(cell(br, 'errors'), b.errorRate);
        cell(br, 'p50', fmtMs(b.p50Ms, bidle));
        cell(br, 'p99', fmtMs(b.p99Ms, bidle));
        cell(br, 'inflight', String(num(b.inFlight)));
        badge(cell(br, 'health'), String(b.health));
        badge(cell(br, 'state'), String(b.state));
        const ejb = cell(br, 'ejected');
        if (b.ejected) badge(ejb, 'ejected'); else { ejb.textContent = 'no'; ejb.classList.add('dim'); }
        const wt = cell(br, 'weight', num(b.weight) + ' / ' + num(b.effectiveWeight));
        if (num(b.effectiveWeight) !== num(b.weight)) wt.classList.add('warn');
        rows.push(br);
      }
    }
    card.tbody.replaceChildren(...rows);

    const names = pools.map((p) => p.name);
    if (names.join('\u0000') !== card.poolKey) {
      card.poolKey = names.join('\u0000');
      setOptions(card.flipTo, names);
      setOptions(card.canPool, names);
      // Default both to the pool with the smallest share: the one a flip or a canary most likely targets.
      const smallest = pools.slice().sort((a, b) => num(a.split) - num(b.split))[0];
      if (smallest) { card.canPool.value = smallest.name; card.flipTo.value = smallest.name; }
    }
  }

  function render(snap) {
    ui.rev.textContent = String(snap.revision);
    const t = new Date(snap.time);
    ui.time.textContent = isNaN(t.getTime()) ? String(snap.time) : t.toLocaleTimeString();
    ui.time.title = String(snap.time);
    const services = Array.isArray(snap.services) ? snap.services : [];
    const seen = new Set();
    for (const svc of services) {
      for (const p of (svc.pools || [])) {
        const key = svc.name + '\u0000' + p.name;
        const h = series.get(key) || [];
        h.push(num(p.rps));
        if (h.length > HISTORY) h.splice(0, h.length - HISTORY);
        series.set(key, h);
        seen.add(key);
      }
    }
    for (const k of [...series.keys()]) if (!seen.has(k)) series.delete(k);
    if (services.length === 0) { hint('No services are configured.'); return; }
    if (cards.size === 0) ui.services.replaceChildren();
    const names = new Set();
    for (const svc of services) names.add(svc.name);
    for (const [n, c] of cards) if (!names.has(n)) { c.root.remove(); cards.delete(n); }
    services.forEach((svc, i) => {
      let card = cards.get(svc.name);
      if (!card) { card = makeCard(svc.name); cards.set(svc.name, card); }
      updateCard(card, svc);
      // Move a card only when it is out of place: moving a node drops the focus inside it.
      const at = ui.services.children[i];
      if (at !== card.root) ui.services.insertBefore(card.root, at || null);
    });
  }

  // --- the stream ---
  function stop() {
    st.gen++;
    st.retryAt = 0;
    clearTimeout(st.timer);
    if (st.ctrl) st.ctrl.abort();
    st.ctrl = null;
    st.live = false;
  }

  function retryLater(gen, why) {
    if (gen !== st.gen) return;
    st.live = false;
    const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(st.attempts, 6)) * (0.8 + Math.random() * 0.4);
    st.attempts++;
    st.retryAt = Date.now() + delay;
    st.why = why || '';
    showCountdown();
    clearTimeout(st.timer);
    st.timer = setTimeout(() => { st.retryAt = 0; if (gen === st.gen) connect(); }, delay);
  }

  function showCountdown() {
    const s = Math.max(1, Math.ceil((st.retryAt - Date.now()) / 1000));
    setStatus('reconnecting in ' + s + ' s' + (st.why ? ' (' + st.why + ')' : ''), 'wait');
  }

  function handleEvent(type, data) {
    if (type !== 'snapshot' || data === '') return;
    let snap;
    try { snap = JSON.parse(data); } catch (e) { return; }
    st.lastAt = Date.now();
    st.attempts = 0;
    showBanner('');
    setStatus('live', 'live');
    render(snap);
    tick();
  }

  async function connect() {
    stop();
    const gen = st.gen;
    if (!st.token) { setStatus('no token', ''); return; }
    const ctrl = new AbortController();
    st.ctrl = ctrl;
    setStatus(st.attempts ? 'reconnecting…' : 'connecting…', 'wait');
    let res;
    try {
      res = await fetch('/v1/stream', { headers: { authorization: 'Bearer ' + st.token, accept: 'text/event-stream' }, cache: 'no-store', signal: ctrl.signal });
    } catch (e) {
      retryLater(gen, 'admin API unreachable');
      return;
    }
    if (gen !== st.gen) { ctrl.abort(); return; }
    if (res.status === 401 || res.status === 403) {
      let msg = '';
      try { const b = await res.json(); msg = b && b.error && b.error.message ? String(b.error.message) : ''; } catch (e) { msg = ''; }
      if (gen !== st.gen) return;
      stop();
      setStatus(res.status === 401 ? 'unauthorized' : 'forbidden', 'bad');
      showBanner(res.status === 401
        ? 'Unauthorized: the admin API refused this token (401' + (msg ? ': ' + msg : '') + '). Enter a valid admin token.'
        : 'Forbidden: this token may not read the live stream (403' + (msg ? ': ' + msg : '') + ').');
      return;
    }
    if (!res.ok || !res.body) { retryLater(gen, 'HTTP ' + res.status); return; }
    st.live = true;
    st.lastByteAt = Date.now();
    setStatus('connected', 'live');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '', type = '', data = [];
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done || gen !== st.gen) break;
        st.lastByteAt = Date.now();
        buf += r.value;
        let nl;
        while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
          if (buf[nl] === '\r' && nl === buf.length - 1) break; // a CRLF split across chunks
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
          if (line === '') { handleEvent(type || 'message', data.join('\n')); type = ''; data = []; continue; }
          if (line[0] === ':') continue;
          const c = line.indexOf(':');
          const field = c < 0 ? line : line.slice(0, c);
          let value = c < 0 ? '' : line.slice(c + 1);
          if (value[0] === ' ') value = value.slice(1);
          if (field === 'event') type = value; else if (field === 'data') data.push(value);
        }
      }
    } catch (e) {
      // aborted or the connection dropped
    }
    if (gen === st.gen) retryLater(gen, 'stream closed');
  }

  function tick() {
    const now = Date.now();
    const age = st.lastAt ? now - st.lastAt : 0;
    const stale = st.lastAt > 0 && age > STALE_MS;
    document.body.classList.toggle('stale', stale);
    if (stale) ui.stale.textContent = 'stale · ' + Math.round(age / 1000) + ' s since the last snapshot';
    if (st.retryAt > now) showCountdown();
    // A stream that went silent (half-open connection, buffering proxy): drop it and reconnect.
    if (st.live && now - st.lastByteAt > IDLE_MS && st.ctrl) { st.live = false; st.ctrl.abort(); }
  }
  setInterval(tick, 500);

  ui.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = ui.token.value.trim();
    if (!v) { ui.token.focus(); return; }
    st.token = v;
    try { sessionStorage.setItem(TOKEN_KEY, v); } catch (e) { /* storage may be disabled */ }
    st.attempts = 0;
    showBanner('');
    connect();
  });
  ui.forget.addEventListener('click', () => {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
    stop();
    st.token = ''; st.lastAt = 0;
    ui.token.value = '';
    document.body.classList.remove('stale');
    ui.rev.textContent = '–'; ui.time.textContent = '–';
    setStatus('no token', '');
    showBanner('');
    series.clear();
    hint('Enter an admin token to see live traffic.');
  });

  let saved = '';
  try { saved = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { saved = ''; }
  if (saved) { st.token = saved; ui.token.value = saved; connect(); }
  else { setStatus('no token', ''); ui.token.focus(); }
})();
`;

/** The dashboard page (see the module comment). */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>turnout · live traffic</title>
<style>${STYLE}</style></head><body>
<header><div class="bar">
<h1>turnout <span>live traffic</span></h1>
<div class="meta">
<span id="status" class="pill">starting…</span>
<span>revision <b id="rev">–</b></span>
<span>last snapshot <b id="time">–</b></span>
<span id="stale" class="pill bad" role="status">stale</span>
</div>
<form id="auth" autocomplete="off">
<label for="token" class="dim">Admin token</label>
<input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="Bearer token">
<button type="submit" class="primary" id="connect">Connect</button>
<button type="button" id="forget">Forget token</button>
</form>
</div></header>
<main>
<div id="banner" class="banner" role="alert" hidden></div>
<div id="services"><p class="hint">Enter an admin token to see live traffic.</p></div>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body></html>`;
}
