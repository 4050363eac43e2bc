// @ts-check
/**
 * The dashboard's browser script, part 4 of 4, run last: the page's elements and state, the live
 * stream and the token form. It asks for the admin token (kept in sessionStorage for this tab),
 * reads `GET /v1/stream` with fetch and the Authorization header (EventSource cannot send headers),
 * parses the SSE `snapshot` events itself and reconnects with backoff.
 */

const TOKEN_KEY = 'turnout.adminToken';
const STALE_MS = 3000, IDLE_MS = 10000, BASE_DELAY_MS = 1000, MAX_DELAY_MS = 15000;

const ui = {
  form: byId('auth', HTMLFormElement), token: byId('token', HTMLInputElement), forget: byId('forget', HTMLButtonElement),
  status: byId('status', HTMLElement), rev: byId('rev', HTMLElement), time: byId('time', HTMLElement),
  stale: byId('stale', HTMLElement), banner: byId('banner', HTMLElement), services: byId('services', HTMLElement),
  fleet: byId('fleet', HTMLElement), fleetSum: byId('fleet-sum', HTMLElement), fleetRows: byId('fleet-rows', HTMLTableSectionElement),
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
/**
 * rps per `service\0pool`, the last HISTORY snapshots
 * @type {Map<string, number[]>}
 */
const series = new Map();
/** @type {Map<string, Card>} */
const cards = new Map();

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

/** @param {TrafficSnapshot} snap */
function render(snap) {
  ui.rev.textContent = String(snap.revision);
  ui.time.textContent = fmtTime(snap.time);
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
/** Drops the stream (and any retry) of the current generation. */
function disconnect() {
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
  maybeRefreshDetails(snap.revision);
  tick();
}

async function connect() {
  disconnect();
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
    disconnect();
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
  clearDetails();
  void connect();
});
ui.forget.addEventListener('click', () => {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
  disconnect();
  st.token = ''; st.lastAt = 0;
  ui.token.value = '';
  document.body.classList.remove('stale');
  ui.rev.textContent = '–'; ui.time.textContent = '–';
  setStatus('no token', '');
  showBanner('');
  series.clear();
  clearDetails();
  hint('Enter an admin token to see live traffic.');
});

let saved = '';
try { saved = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { saved = ''; }
if (saved) { st.token = saved; ui.token.value = saved; void connect(); }
else { setStatus('no token', ''); ui.token.focus(); }
