// @ts-check
/**
 * The live dashboard served at `GET /` on the admin listener (index.html; the admin app inlines
 * this script and dashboard.css into it and allows the script by its hash in the CSP). No external
 * assets: the admin listener may have no internet. It asks for the admin token (kept in
 * sessionStorage), reads `GET /v1/stream` with fetch and the Authorization header (EventSource
 * cannot send headers), parses the SSE `snapshot` events itself and reconnects with backoff.
 * Everything taken from data is inserted with textContent and DOM APIs, never as HTML.
 *
 * Type-checked by `tsc -p tsconfig.dashboard.json` against the server's own types.
 */

/** @typedef {import('../../telemetry/index.js').TrafficSnapshot} TrafficSnapshot */
/** @typedef {import('../../telemetry/index.js').ServiceTraffic} ServiceTraffic */
/** @typedef {import('../../telemetry/index.js').PoolTraffic} PoolTraffic */
/** @typedef {import('../../telemetry/index.js').BackendTraffic} BackendTraffic */
/** @typedef {import('../schemas.js').ServiceAnswer} ServiceAnswer */
/** @typedef {import('../schemas.js').ErrorAnswer} ErrorAnswer */

/**
 * One service's card and the elements it updates.
 * @typedef {object} Card
 * @property {HTMLElement} root
 * @property {HTMLElement} rps
 * @property {HTMLElement} split
 * @property {HTMLElement} legend
 * @property {HTMLTableSectionElement} tbody
 * @property {HTMLSelectElement} flipTo
 * @property {HTMLSelectElement} canPool
 * @property {string} poolKey pool names joined: the select options are rebuilt when it changes
 * @property {HTMLElement} amsg
 * @property {HTMLButtonElement[]} buttons
 */

'use strict';
(() => {
  const TOKEN_KEY = 'turnout.adminToken';
  const HISTORY = 60, STALE_MS = 3000, IDLE_MS = 10000, BASE_DELAY_MS = 1000, MAX_DELAY_MS = 15000;
  const SVGNS = 'http://www.w3.org/2000/svg';
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
  const ui = {
    form: byId('auth', HTMLFormElement), token: byId('token', HTMLInputElement), forget: byId('forget', HTMLButtonElement),
    status: byId('status', HTMLElement), rev: byId('rev', HTMLElement), time: byId('time', HTMLElement),
    stale: byId('stale', HTMLElement), banner: byId('banner', HTMLElement), services: byId('services', HTMLElement),
  };
  const st = {
    token: '',
    /** bumped on every (re)connect: callbacks of an older connection see a stale generation and stop */
    gen: 0,
    /** @type {AbortController | null} */
    ctrl: null,
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    timer: undefined,
    attempts: 0, lastAt: 0, lastByteAt: 0, live: false, retryAt: 0, why: '',
  };
  /** rps per `service\0pool`, the last HISTORY snapshots */
  /** @type {Map<string, number[]>} */
  const series = new Map();
  /** @type {Map<string, Card>} */
  const cards = new Map();

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
  /** @param {string} text @param {string} [kind] */
  function setStatus(text, kind) {
    ui.status.textContent = text;
    ui.status.className = 'pill' + (kind ? ' ' + kind : '');
  }
  /** @param {string} text */
  function showBanner(text) {
    ui.banner.textContent = text;
    ui.banner.hidden = text === '';
  }
  /** @param {string} text */
  function hint(text) {
    cards.clear();
    ui.services.replaceChildren(el('p', 'hint', text));
  }

  // --- number formatting ---
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
  /** @param {HTMLElement} td @param {number} rate */
  function errCell(td, rate) {
    const p = num(rate) * 100;
    td.textContent = p === 0 ? '0%' : (p < 0.1 ? '<0.1%' : (p < 10 ? p.toFixed(1) : String(Math.round(p))) + '%');
    if (p >= 5) td.classList.add('bad'); else if (p >= 1) td.classList.add('warn');
  }

  // --- colours ---
  /** @param {readonly PoolTraffic[]} pools @returns {Map<string, string>} */
  function poolColours(pools) {
    const out = new Map(), used = new Set();
    for (const p of pools) {
      const c = NAMED[p.name.toLowerCase()];
      if (c !== undefined && Object.hasOwn(NAMED, p.name.toLowerCase()) && !used.has(c)) { out.set(p.name, c); used.add(c); }
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

  // --- service cards ---
  /** @type {readonly (readonly [key: string, label: string, cls: string])[]} */
  const COLS = [
    ['name', 'Pool / backend', ''], ['split', 'Split', 'n'], ['rps', 'rps', 'n'], ['trend', 'Last 60 s', ''],
    ['errors', 'Errors', 'n'], ['p50', 'p50 ms', 'n'], ['p99', 'p99 ms', 'n'], ['inflight', 'In flight', 'n'],
    ['health', 'Health', ''], ['state', 'State', ''], ['ejected', 'Ejected', ''], ['weight', 'Weight / eff.', 'n'],
  ];

  /** @param {string} name @returns {Card} */
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

    /** @type {Card} */
    const card = { root, rps, split, legend, tbody, flipTo, canPool, poolKey: '', amsg, buttons: [flipBtn, canBtn, rbBtn] };
    const svcPath = '/v1/services/' + encodeURIComponent(name);
    flipBtn.addEventListener('click', () => {
      const to = flipTo.value;
      if (to && confirm('Send 100% of ' + name + ' traffic to ' + to + '?')) void act(card, 'POST', svcPath + '/flip', { to }, 'flipped to ' + to);
    });
    canBtn.addEventListener('click', () => {
      const pool = canPool.value, percent = Number(canPct.value);
      if (!pool || !Number.isFinite(percent) || percent < 0 || percent > 100) { say(card, 'Canary percent must be between 0 and 100.', false); return; }
      if (confirm('Give ' + pool + ' ' + percent + '% of ' + name + ' traffic?')) void act(card, 'POST', svcPath + '/canary', { pool, percent }, pool + ' set to ' + percent + '%');
    });
    rbBtn.addEventListener('click', () => {
      if (confirm('Restore the split of ' + name + ' before its last change?')) void act(card, 'POST', svcPath + '/rollback', undefined, 'rolled back');
    });
    return card;
  }

  /** @param {Card} card @param {string} text @param {boolean} ok */
  function say(card, text, ok) {
    card.amsg.textContent = text;
    card.amsg.className = 'amsg ' + (ok ? 'ok' : 'err');
  }

  /**
   * A write from a card's buttons; the answer (or the API's refusal, with its status) shows under them.
   * @param {Card} card @param {string} method @param {string} path @param {object | undefined} body @param {string} done
   */
  async function act(card, method, path, body, done) {
    if (!st.token) { say(card, 'Enter the admin token first.', false); return; }
    for (const b of card.buttons) b.disabled = true;
    say(card, 'Sending…', true);
    try {
      /** @type {Record<string, string>} */
      const headers = { authorization: 'Bearer ' + st.token };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(path, { method, headers, cache: 'no-store', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      /** @type {Partial<ServiceAnswer & ErrorAnswer> | null} */
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      if (!res.ok) {
        const err = data && data.error ? data.error : { code: '', message: '' };
        say(card, 'Refused (' + res.status + (err.code ? ' ' + err.code : '') + '): ' + (err.message || res.statusText || 'request failed'), false);
        return;
      }
      const split = data && data.service && data.service.split ? data.service.split : {};
      const parts = Object.keys(split).map((p) => p + ' ' + split[p] + '%');
      say(card, 'Done: ' + done + '. Split now ' + (parts.join(' · ') || 'empty') + (data && data.revision !== undefined ? ' (revision ' + data.revision + ')' : '') + '.', true);
    } catch (e) {
      say(card, 'Could not reach the admin API: ' + (e instanceof Error ? e.message : String(e)), false);
    } finally {
      for (const b of card.buttons) b.disabled = false;
    }
  }

  /** @param {HTMLSelectElement} select @param {string[]} names */
  function setOptions(select, names) {
    const keep = select.value;
    select.replaceChildren(...names.map((n) => { const o = el('option', '', n); o.value = n; return o; }));
    if (names.includes(keep)) select.value = keep;
  }

  /**
   * One cell of a pool or backend row, labelled for the narrow layout.
   * @param {HTMLTableRowElement} tr @param {string} key @param {string} [text] @param {string} [extra]
   */
  function cell(tr, key, text, extra) {
    const col = COLS.find((c) => c[0] === key);
    if (col === undefined) throw new Error('dashboard: no column ' + key);
    const td = el('td', (col[2] + ' c-' + key + ' ' + (extra || '')).trim());
    if (key === 'name') td.classList.add('name'); else td.dataset.label = col[1];
    if (text !== undefined) td.textContent = String(text);
    tr.append(td);
    return td;
  }
  /** @param {HTMLElement} td @param {string} text @param {string} [cls] */
  function badge(td, text, cls) {
    td.append(el('span', 'badge ' + (cls || text), text));
  }
  /**
   * "2 healthy · 1 unhealthy"
   * @param {readonly BackendTraffic[]} list @param {(b: BackendTraffic) => string} pick
   */
  function counts(list, pick) {
    /** @type {Map<string, number>} */
    const m = new Map();
    for (const b of list) m.set(pick(b), (m.get(pick(b)) || 0) + 1);
    return [...m.entries()].map(([k, n]) => n + ' ' + k).join(' · ');
  }

  /** @param {Card} card @param {ServiceTraffic} svc */
  function updateCard(card, svc) {
    /** @type {readonly PoolTraffic[]} */
    const pools = Array.isArray(svc.pools) ? svc.pools : [];
    const colours = poolColours(pools);
    /** @param {string} pool */
    const colour = (pool) => colours.get(pool) || '';
    card.rps.textContent = fmtRps(svc.rps) + ' rps';

    // split bar + legend
    const total = pools.reduce((s, p) => s + num(p.split), 0);
    const segs = [];
    for (const p of pools) {
      const pct = num(p.split);
      if (pct <= 0) continue;
      const seg = el('div', 'seg', pct >= 12 ? p.name + ' ' + pct + '%' : (pct >= 5 ? pct + '%' : ''));
      seg.style.width = (total > 100 ? (pct / total) * 100 : pct) + '%';
      seg.style.background = colour(p.name);
      seg.title = p.name + ': ' + pct + '%';
      segs.push(seg);
    }
    if (segs.length === 0) segs.push(el('div', 'none', 'no pool has a share of the traffic'));
    card.split.replaceChildren(...segs);
    card.split.setAttribute('aria-label', 'split: ' + pools.map((p) => p.name + ' ' + num(p.split) + '%').join(', '));
    card.legend.replaceChildren(...pools.map((p) => {
      const s = el('span');
      const d = el('span', 'dot'); d.style.background = colour(p.name);
      s.append(d, document.createTextNode(p.name + ' ' + num(p.split) + '%'));
      return s;
    }));

    // rows
    const rows = [];
    for (const p of pools) {
      const key = svc.name + '\u0000' + p.name;
      const hist = series.get(key) || [];
      /** @type {readonly BackendTraffic[]} */
      const backends = Array.isArray(p.backends) ? p.backends : [];
      const idle = num(p.rps) === 0;
      const tr = el('tr', 'pool');
      tr.dataset.pool = p.name;
      const nameTd = cell(tr, 'name');
      const dot = el('span', 'dot'); dot.style.background = colour(p.name);
      nameTd.append(dot, document.createTextNode(p.name));
      cell(tr, 'split', num(p.split) + '%');
      cell(tr, 'rps', fmtRps(p.rps), 'rps');
      cell(tr, 'trend').append(sparkline(hist, colour(p.name)));
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

  /** @param {TrafficSnapshot} snap */
  function render(snap) {
    ui.rev.textContent = String(snap.revision);
    const t = new Date(snap.time);
    ui.time.textContent = isNaN(t.getTime()) ? String(snap.time) : t.toLocaleTimeString();
    ui.time.title = String(snap.time);
    /** @type {readonly ServiceTraffic[]} */
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

  /** @param {number} gen @param {string} why */
  function retryLater(gen, why) {
    if (gen !== st.gen) return;
    st.live = false;
    const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(st.attempts, 6)) * (0.8 + Math.random() * 0.4);
    st.attempts++;
    st.retryAt = Date.now() + delay;
    st.why = why || '';
    showCountdown();
    clearTimeout(st.timer);
    st.timer = setTimeout(() => { st.retryAt = 0; if (gen === st.gen) void connect(); }, delay);
  }

  function showCountdown() {
    const s = Math.max(1, Math.ceil((st.retryAt - Date.now()) / 1000));
    setStatus('reconnecting in ' + s + ' s' + (st.why ? ' (' + st.why + ')' : ''), 'wait');
  }

  /** @param {string} type @param {string} data */
  function handleEvent(type, data) {
    if (type !== 'snapshot' || data === '') return;
    /** @type {TrafficSnapshot} */
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
      try {
        /** @type {Partial<ErrorAnswer> | null} */
        const b = await res.json();
        msg = b && b.error && b.error.message ? String(b.error.message) : '';
      } catch (e) { msg = ''; }
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
    let buf = '', type = '';
    /** @type {string[]} */
    let data = [];
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
    void connect();
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
  if (saved) { st.token = saved; ui.token.value = saved; void connect(); }
  else { setStatus('no token', ''); ui.token.focus(); }
})();
