// @ts-check
/**
 * The dashboard's browser script, part 3 of 4: what an operator looks for during a deploy, read
 * from the admin API every few seconds while the stream is live. Per service, its rollout (step,
 * gate readings against their limits) and its latest events (why a backend is out); for the
 * whole fleet, the instances and the revision each has applied.
 */

/** How often the deploy panels are read again (and at once when the revision changes). */
const DETAILS_MS = 3000;
/** Events shown per service, newest first. */
const EVENTS_SHOWN = 6;
const details = { at: 0, revision: -1, busy: false };

/**
 * A GET on the admin API with the token; undefined when it could not be reached.
 * @param {string} path
 * @returns {Promise<{ status: number, body: any } | undefined>}
 */
async function getJson(path) {
  try {
    const res = await fetch(path, { headers: { authorization: 'Bearer ' + st.token }, cache: 'no-store' });
    return { status: res.status, body: await res.json() };
  } catch (e) {
    return undefined;
  }
}

/** Reads the panels again when they are older than DETAILS_MS or the state has a new revision. @param {number} revision */
function maybeRefreshDetails(revision) {
  if (details.busy || (revision === details.revision && Date.now() - details.at < DETAILS_MS)) return;
  details.busy = true;
  details.at = Date.now();
  details.revision = revision;
  void refreshDetails(st.gen).finally(() => { details.busy = false; });
}

/** @param {number} gen the stream generation they are read for: a newer token or connection drops them */
async function refreshDetails(gen) {
  const names = [...cards.keys()];
  const [fleet, ...perService] = await Promise.all([
    getJson('/v1/fleet'),
    ...names.flatMap((n) => ['/events', '/rollouts/current'].map((p) => getJson('/v1/services/' + encodeURIComponent(n) + p))),
  ]);
  if (gen !== st.gen) return;
  if (fleet !== undefined && fleet.status === 200) renderFleet(/** @type {FleetAnswer} */ (fleet.body));
  names.forEach((name, i) => {
    const card = cards.get(name);
    const events = perService[2 * i], rollout = perService[2 * i + 1];
    if (card === undefined) return;
    if (events !== undefined && events.status === 200) renderEvents(card, /** @type {{ events: EventView[] }} */ (events.body).events);
    // 404: the service never had a rollout.
    if (rollout !== undefined && (rollout.status === 200 || rollout.status === 404)) {
      renderRollout(card, rollout.status === 200 ? /** @type {RolloutAnswer} */ (rollout.body).rollout : undefined);
    }
  });
}

/** Forgets what the panels showed (a new token, or none). */
function clearDetails() {
  details.at = 0;
  details.revision = -1;
  ui.fleet.hidden = true;
  ui.fleetRows.replaceChildren();
}

// --- events ---
/** The badge class of an event: bad when a backend went out, ok when it came back. @param {EventView} e */
function eventClass(e) {
  // A health event says where it went: in details.to, or (a start-up probe) at the end of its message.
  if (e.type === 'health') return String((e.details && e.details['to']) || (/→ (\w+)$/.exec(e.message) || [])[1] || 'unknown');
  if (e.type === 'ejected' || e.type === 'retries_exhausted') return 'ejected';
  if (e.type === 'ejection_end') return 'healthy';
  return 'draining';
}

/** @param {Card} card @param {readonly EventView[]} events newest first */
function renderEvents(card, events) {
  const list = el('ol');
  for (const e of events.slice(0, EVENTS_SHOWN)) {
    const li = el('li');
    li.dataset.type = e.type;
    if (e.backend !== undefined) li.dataset.backend = e.backend;
    const time = el('time', '', fmtTime(e.time));
    time.dateTime = e.time;
    const kind = el('span');
    badge(kind, e.type.replace(/_/g, ' '), eventClass(e));
    const where = el('span', 'where', [e.pool, e.backend].filter((x) => x !== undefined).join(' / '));
    li.append(time, kind, where, el('span', 'msg', e.message));
    list.append(li);
  }
  const title = el('h3', '', 'Recent events');
  card.events.replaceChildren(title, events.length > 0 ? list : el('p', 'dim', 'No events: every backend kept its health, nothing drained.'));
}

// --- the rollout ---
/**
 * One gate reading against its limit: ok, bad (the gate fails), or wait (not enough traffic yet).
 * @param {string} key @param {string} label @param {string} value @param {string} limit @param {'ok' | 'bad' | 'wait'} verdict
 */
function gate(key, label, value, limit, verdict) {
  const g = el('div', 'gate ' + verdict);
  g.dataset.gate = key;
  g.append(el('span', 'dim', label), el('b', 'val', value), el('span', 'dim', limit));
  return g;
}

/** @param {Card} card @param {RolloutView | undefined} r */
function renderRollout(card, r) {
  const box = card.rollout;
  box.dataset.state = r === undefined ? 'none' : r.state;
  const title = el('h3', '', 'Rollout');
  if (r === undefined) { box.replaceChildren(title, el('p', 'dim', 'No rollout.')); return; }
  const active = r.state === 'running' || r.state === 'paused';
  const head = el('div', 'line');
  badge(head, r.state.replace('_', ' '), 'r-' + r.state);
  head.append(el('span', 'what', r.pool + ' from ' + r.stablePool + ' · step ' + r.step + ' of ' + r.steps.length + ' · ' + r.percent + '%'));
  const steps = el('div', 'steps');
  steps.setAttribute('aria-label', 'steps');
  r.steps.forEach((pct, i) => steps.append(el('span', i + 1 < r.step || r.state === 'promoted' ? 'done' : i + 1 === r.step && active ? 'now' : '', pct + '%')));
  const parts = [title, head, steps];
  const p = r.progress;
  if (active && p !== undefined) {
    const g = r.gates;
    const gates = el('div', 'gates');
    gates.append(
      gate('requests', 'requests', String(p.requests), 'min ' + g.minRequests, p.requests >= g.minRequests ? 'ok' : 'wait'),
      gate('errorRate', 'error rate', fmtRate(p.errorRate), g.maxErrorRate === undefined ? 'no limit' : 'max ' + fmtRate(g.maxErrorRate),
        g.maxErrorRate === undefined || p.errorRate <= g.maxErrorRate ? 'ok' : 'bad'),
      gate('p99', 'p99', fmtMs(p.p99Ms, p.requests === 0) + ' ms', g.maxP99Ms === undefined ? 'no limit' : 'max ' + g.maxP99Ms + ' ms',
        g.maxP99Ms === undefined || p.p99Ms <= g.maxP99Ms ? 'ok' : 'bad'),
    );
    const b = g.baseline;
    const s = p.stable;
    if (b !== undefined && s !== undefined) {
      // The baseline side by side: the stable pool's reading over the same window, and the bound it sets.
      const sr = s.requests === 0 ? 0 : s.errors / s.requests;
      if (b.maxErrorRateIncrease !== undefined) {
        gates.append(gate('baselineErrorRate', 'stable error rate', fmtRate(sr), 'canary max ' + fmtRate(sr + b.maxErrorRateIncrease),
          s.requests === 0 || p.errorRate <= sr + b.maxErrorRateIncrease ? 'ok' : 'bad'));
      }
      if (b.maxP99Ratio !== undefined) {
        const ratio = Math.max(p.p99Ms, 5) / Math.max(s.p99Ms, 5);
        gates.append(gate('baselineP99', 'stable p99', fmtMs(s.p99Ms, s.requests === 0) + ' ms', 'ratio ' + ratio.toFixed(2) + ' max ' + b.maxP99Ratio,
          s.requests === 0 || ratio <= b.maxP99Ratio ? 'ok' : 'bad'));
      }
    }
    parts.push(gates, el('p', 'dim', (r.state === 'paused' ? 'paused; this step would end ' : 'next step ') + fmtFromNow(p.stepEndsAt) + ' · gates read on ' + r.pool + "'s own traffic"));
  } else if (r.endedAt !== undefined) {
    parts.push(el('p', 'dim', 'ended ' + fmtTime(r.endedAt) + (r.reason ? ': ' + r.reason : '')));
  }
  if (r.pause !== undefined) {
    parts.push(el('p', 'gatehold', r.pause.until !== undefined ? 'pause step until ' + fmtTime(r.pause.until) : 'paused at a manual gate: continue with ' + r.pause.continueWith));
  } else if (r.awaitingConfirmation === true) {
    parts.push(el('p', 'gatehold', 'waiting for the confirm-promotion webhook (asked again at every check)'));
  }
  parts.push(...checkLines(r));
  box.replaceChildren(...parts);
}

/** The last checks: passed or not, metric readings against bounds, webhook answers, the reason. @param {RolloutView} r */
function checkLines(r) {
  return r.results.slice(-3).reverse().map((c) => {
    const bits = ['step ' + c.step + ' (' + c.percent + '%) ' + (c.passed ? 'passed' : 'failed') + ' ' + fmtTime(c.at)];
    for (const m of c.readings?.metrics ?? []) {
      bits.push(m.name + ' ' + (m.value !== undefined ? String(Math.round(m.value * 1e4) / 1e4) : m.error ?? '?') + (m.min !== undefined ? ' min ' + m.min : '') + (m.max !== undefined ? ' max ' + m.max : ''));
    }
    for (const w of c.readings?.webhooks ?? []) bits.push(w.type + ' ' + w.name + ' ' + (w.status ?? w.error ?? '?'));
    if (c.reason !== undefined) bits.push(c.reason);
    const line = el('p', 'check ' + (c.passed ? 'ok' : 'bad'), bits.join(' · '));
    line.dataset.check = String(c.step);
    return line;
  });
}

// --- the fleet ---
/** @param {FleetAnswer} fleet */
function renderFleet(fleet) {
  const behind = fleet.instances.filter((i) => i.revision < fleet.revision).length;
  ui.fleetSum.textContent = fleet.instances.length + ' instance' + (fleet.instances.length === 1 ? '' : 's') + ' · ' + fleet.store + ' store · ' +
    (behind === 0 ? 'all on revision ' + fleet.revision : behind + ' behind revision ' + fleet.revision);
  ui.fleetRows.replaceChildren(...fleet.instances.map((i) => {
    const tr = el('tr');
    tr.dataset.instance = i.id;
    labelledCell(tr, 'name', '', '', i.id);
    labelledCell(tr, 'host', 'Host', '', i.host);
    labelledCell(tr, 'pid', 'PID', 'n', String(i.pid));
    const rev = labelledCell(tr, 'rev', 'Revision', 'rev');
    badge(rev, String(i.revision), i.revision < fleet.revision ? 'draining' : 'active');
    labelledCell(tr, 'started', 'Started', '', fmtTime(i.startedAt));
    labelledCell(tr, 'seen', 'Last seen', '', fmtFromNow(i.seenAt) || fmtTime(i.seenAt));
    return tr;
  }));
  ui.fleet.hidden = false;
}
