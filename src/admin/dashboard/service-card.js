// @ts-check
/**
 * The dashboard's browser script, part 2 of 4: one card per service, with its split, a row per
 * pool and backend, the place for its rollout and events (deploy-panels.js fills them), and the
 * buttons that flip, set a canary or roll back through the admin API.
 */

/**
 * One service's card and the elements it updates.
 * @typedef {object} Card
 * @property {HTMLElement} root
 * @property {HTMLElement} rps
 * @property {HTMLElement} split
 * @property {HTMLElement} legend
 * @property {HTMLTableSectionElement} tbody
 * @property {HTMLElement} rollout the service's current (or last) rollout
 * @property {HTMLElement} events its latest events, newest first
 * @property {HTMLSelectElement} flipTo
 * @property {HTMLSelectElement} canPool
 * @property {string} poolKey pool names joined: the select options are rebuilt when it changes
 * @property {HTMLElement} amsg
 * @property {HTMLButtonElement[]} buttons
 */

/** @type {readonly (readonly [key: string, label: string, cls: string])[]} */
const COLS = [
  ['name', 'Pool / backend', ''], ['split', 'Split', 'n'], ['rps', 'rps', 'n'], ['trend', 'Last 60 s', ''],
  ['errors', 'Errors', 'n'], ['p50', 'p50 ms', 'n'], ['p99', 'p99 ms', 'n'], ['h2', 'HTTP/2', 'n'], ['inflight', 'In flight', 'n'],
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
  const rollout = el('div', 'rollout');
  rollout.dataset.state = 'none';
  const events = el('div', 'events');
  const deploy = el('div', 'deploy');
  deploy.append(rollout, events);
  root.append(head, split, legend, tw, deploy, actions, amsg);

  /** @type {Card} */
  const card = { root, rps, split, legend, tbody, rollout, events, flipTo, canPool, poolKey: '', amsg, buttons: [flipBtn, canBtn, rbBtn] };
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
 * One cell of a pool or backend row.
 * @param {HTMLTableRowElement} tr @param {string} key @param {string} [text] @param {string} [extra]
 */
function cell(tr, key, text, extra) {
  const col = COLS.find((c) => c[0] === key);
  if (col === undefined) throw new Error('dashboard: no column ' + key);
  return labelledCell(tr, key, col[1], col[2] + ' ' + (extra || ''), text);
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
  // Requests held for a backend (hold queue) show next to the rate while there are any.
  const waiting = num(svc.waiting);
  card.rps.textContent = fmtRps(svc.rps) + ' rps' + (waiting > 0 ? ' · ' + waiting + ' waiting' : '');
  card.rps.classList.toggle('svc-waiting', waiting > 0);

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
    // The share of the pool's requests that came over HTTP/2 (gRPC included).
    cell(tr, 'h2', idle || p.h2Share === undefined ? '–' : Math.round(num(p.h2Share) * 100) + '%', idle ? 'dim' : '');
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
      cell(br, 'h2', '', 'blank');
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
  // The mirrored pool's copies (SPEC "Mirroring"): their own figures, marked as mirror, never in the pools' rows.
  const m = svc.mirror;
  if (m) {
    const tr = el('tr', 'pool mirror');
    tr.dataset.mirror = m.pool;
    const midle = num(m.rps) === 0;
    const nameTd = cell(tr, 'name');
    const dot = el('span', 'dot'); dot.style.background = colour(m.pool);
    nameTd.append(dot, document.createTextNode(m.pool + ' '));
    badge(nameTd, 'mirror');
    cell(tr, 'split', num(m.percent) + '% copied');
    cell(tr, 'rps', fmtRps(m.rps), 'rps');
    cell(tr, 'trend', '', 'blank');
    errCell(cell(tr, 'errors'), m.errorRate);
    cell(tr, 'p50', fmtMs(m.p50Ms, midle));
    cell(tr, 'p99', fmtMs(m.p99Ms, midle));
    for (const key of ['h2', 'inflight', 'health', 'state', 'ejected', 'weight']) cell(tr, key, '', 'blank');
    tr.title = 'copies of ' + num(m.percent) + '% of the requests go to ' + m.pool + '; their answers are discarded';
    rows.push(tr);
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
