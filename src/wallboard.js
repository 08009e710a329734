// wallboard.js: the supervisors' wallboard: a snapshot of GET api/v1/agents, then the event stream
// applied tile by tile. No framework, no build step; every URL is relative, so the page works
// behind a path prefix and with the daemon's basic auth (same origin, the browser's credentials).
'use strict';

(function () {
  const STATES = ['talking', 'held', 'alerting', 'wrap_up', 'rest', 'busy', 'idle', 'signed_out',
    'unreachable', 'unknown'];
  const LABELS = { talking: 'talking', held: 'held', alerting: 'alerting', wrap_up: 'wrap-up',
    rest: 'rest', busy: 'busy', idle: 'idle', signed_out: 'signed out', unreachable: 'unreachable',
    unknown: 'not polled yet' };
  // Call status (cms-api.md §2.1) to the tile's colour; anything else on a call is "talking".
  const CALL_CLASS = { alerting: 'alerting', queued: 'alerting', private_queued: 'alerting',
    held: 'held', suspended: 'held' };
  // CTI state (§2.2) without a call seen to the tile's colour.
  const STATE_CLASS = { signed_out: 'signed_out', idle: 'idle', preoccupied: 'busy',
    occupied: 'busy', answering: 'alerting', talking: 'talking', wrap_up: 'wrap_up', busy: 'busy',
    rest: 'rest', study: 'rest', adjusting: 'busy' };
  const MAX_EVENTS_SHOWN = 50;
  const RESYNC_AFTER = 5000;	// events missed beyond which a fresh snapshot is cheaper
  const UNPOLLED_RETRY = 5000;	// ms between snapshots while some agents are not polled yet
  const BACKOFF_MIN = 1000, BACKOFF_MAX = 30000;	// ms

  const agents = new Map();	// "CC:VDN:ID" -> agent record (below)
  const counts = Object.fromEntries(STATES.map(s => [s, 0]));
  // render_ms: the last full render; apply_ms: the last 1,000 events' (ms each); tick_ms: the last
  // second's timer update; first_render_at: performance.now() when the first snapshot was shown.
  const stats = { render_ms: null, first_render_at: null, apply_ms: [], applied: 0, tick_ms: null,
    resyncs: 0, reconnects: 0 };
  let groupKey = new URLSearchParams(location.search).get('group') || '';
  let filterText = '';
  let lastSeq = null;		// the newest event applied (or covered by the snapshot)
  let source = null, backoff = BACKOFF_MIN, retryTimer = null;
  let syncing = null;		// events that arrive while a snapshot loads, applied after it
  let skewMs = 0;		// browser clock minus the daemon's, from the snapshot's calls
  let countsDirty = true, countEls = null;

  const collator = new Intl.Collator(undefined, { numeric: true });	// "agent 9" before "agent 10"
  const $ = id => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // ---- time ----

  // A wall-clock time of the daemon (RFC 3339) as this browser's Date.now() scale.
  function localMs(rfc3339) {
    const t = Date.parse(rfc3339);
    return Number.isFinite(t) ? t + skewMs : null;
  }
  function fmtDuration(ms) {
    let s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    s %= 60;
    const mm = (h && m < 10 ? '0' : '') + m, ss = (s < 10 ? '0' : '') + s;
    return h ? h + ':' + mm + ':' + ss : mm + ':' + ss;
  }

  // ---- the agent record, from the API's object or an event's "agent" ----

  function keyOf(a) { return a.cc + ':' + a.vdn + ':' + a.id; }

  function callFrom(c, startMs) {
    return { id: String(c.id), start: startMs, status: c.status, direction: c.direction,
      media: c.media, submedia: c.submedia, long: c.long === true };
  }

  function recordFrom(a, now) {
    const r = { key: keyOf(a), name: a.name || '', labels: a.labels || {}, reachable: a.reachable !== false,
      reason: a.reason || '', polled: a.polled !== false, state: a.state || null, stateStart: null,
      longState: a.long_state === true, idleStart: null, calls: [] };
    if (typeof a.state_duration === 'number') r.stateStart = now - a.state_duration * 1000;
    else if (a.state_since) r.stateStart = localMs(a.state_since);
    for (const c of a.calls || []) {
      const start = typeof c.duration === 'number' ? now - c.duration * 1000 : localMs(c.since);
      r.calls.push(callFrom(c, start));
    }
    r.search = [r.name, r.key, ...Object.entries(r.labels).map(([k, v]) => k + '=' + v)]
      .join(' ').toLowerCase();
    return r;
  }

  // The tile's colour class: unreachable, else the first call's status, else the CTI state.
  function stateOf(r) {
    if (!r.reachable) return 'unreachable';
    if (r.calls.length) return CALL_CLASS[r.calls[0].status] || 'talking';
    if (r.state) return STATE_CLASS[r.state] || 'busy';
    return r.polled ? 'idle' : 'unknown';
  }
  function isLong(r) { return r.longState || r.calls.some(c => c.long); }
  function timerStart(r) {
    if (!r.reachable) return null;
    if (r.calls.length) return r.calls[0].start;
    return r.stateStart ?? r.idleStart;
  }

  // ---- tiles ----

  function makeTile(r) {
    const t = el('div', 'tile');
    t.dataset.agent = r.key;
    t.append(el('div', 'nm', r.name || r.key), el('div', 'id', r.name ? r.key : ''));
    const ln = el('div', 'ln');
    r.lb = el('span', 'lb');
    r.tm = el('span', 'tm');
    ln.append(r.lb, r.tm);
    r.cl = el('div', 'cl');
    t.append(ln, r.cl);
    r.tile = t;
    r.shown = null;
    r.hidden = false;
    return t;
  }

  function callText(r) {
    const c = r.calls[0];
    if (!c) return r.reachable ? '' : r.reason;
    const parts = [c.direction, c.submedia || c.media].filter(x => x !== undefined && x !== null);
    if (r.calls.length > 1) parts.push(r.calls.length + ' calls');
    return parts.join(' · ');
  }

  // Writes only what changed: at 2,000 tiles a full redraw per event would be the cost.
  function updateTile(r, now) {
    const st = stateOf(r), long = isLong(r);
    if (r.shown !== st) {
      if (r.shown) counts[r.shown]--;
      counts[st]++;
      r.shown = st;
      countsDirty = true;
    }
    const cls = 'tile st-' + st + (long ? ' long' : '');
    if (r.tile.className !== cls) r.tile.className = cls;
    // Names as the API gives them ("wrap_up"), or a number for a code it has no name for.
    let label = r.calls.length ? (r.calls[0].status ?? 'on a call') : (r.state ?? LABELS[st]);
    label = r.reachable ? String(label).replace(/_/g, ' ') : 'unreachable';
    if (r.lb.textContent !== label) r.lb.textContent = label;
    const cl = callText(r);
    if (r.cl.textContent !== cl) r.cl.textContent = cl;
    const title = r.key + (r.name ? ' ' + r.name : '') +
      Object.entries(r.labels).map(([k, v]) => '\n' + k + ': ' + v).join('') +
      (r.reachable ? '' : '\nunreachable: ' + r.reason) +
      r.calls.map(c => '\ncall ' + c.id + (c.status ? ' ' + c.status : '') + (c.long ? ' (long)' : '')).join('');
    if (r.tile.title !== title) r.tile.title = title;
    tick(r, now);
  }

  function tick(r, now) {
    const start = timerStart(r);
    const text = start === null ? '' : fmtDuration(now - start);
    if (r.tm.textContent !== text) r.tm.textContent = text;
  }

  // ---- groups, counts, filter ----

  function groupName(r) {
    if (!groupKey) return '';
    const v = r.labels[groupKey];
    return v === undefined ? '' : String(v);
  }

  function render() {
    const t0 = performance.now(), now = Date.now();
    const board = $('board');
    const groups = new Map();
    const sorted = [...agents.values()].sort((a, b) =>
      collator.compare(a.name || a.key, b.name || b.key) || collator.compare(a.key, b.key));
    for (const r of sorted) {
      const g = groupName(r);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(r);
    }
    const names = [...groups.keys()].sort((a, b) => (a === '') - (b === '') || collator.compare(a, b));
    const frag = document.createDocumentFragment();
    for (const k of STATES) counts[k] = 0;
    for (const g of names) {
      const sec = el('section', 'group');
      const members = groups.get(g);
      if (groupKey) {
        const h = el('h2', null, g === '' ? '(no ' + groupKey + ')' : g);
        h.append(' ', el('span', null, '(' + members.length + ')'));
        sec.append(h);
      }
      const tiles = el('div', 'tiles');
      for (const r of members) {
        tiles.append(r.tile || makeTile(r));
        r.shown = null;
        updateTile(r, now);
      }
      sec.append(tiles);
      frag.append(sec);
    }
    board.replaceChildren(frag);
    applyFilter();
    renderCounts();
    fillGroupSelect();
    stats.render_ms = performance.now() - t0;
    if (stats.first_render_at === null) stats.first_render_at = performance.now();
  }

  function renderCounts() {
    if (!countEls) {
      countEls = {};
      const ul = $('counts');
      for (const s of STATES) {
        const li = el('li');
        const b = el('b', null, '0');
        li.append(el('span', 'sw st-' + s), ' ' + LABELS[s] + ' ', b);
        li.dataset.state = s;
        countEls[s] = { li, b };
        ul.append(li);
      }
    }
    for (const s of STATES) {
      const n = String(counts[s]);
      if (countEls[s].b.textContent !== n) countEls[s].b.textContent = n;
      countEls[s].li.classList.toggle('zero', counts[s] === 0);
    }
    countsDirty = false;
  }

  function fillGroupSelect() {
    const keys = new Set();
    for (const r of agents.values()) for (const k of Object.keys(r.labels)) keys.add(k);
    if (groupKey) keys.add(groupKey);
    const sel = $('group');
    const have = new Set([...sel.options].map(o => o.value));
    for (const k of [...keys].sort()) if (!have.has(k)) sel.append(el('option', null, k));
    sel.value = groupKey;
  }

  function matches(r) { return !filterText || r.search.includes(filterText); }

  function applyFilter() {
    for (const r of agents.values()) {
      const hide = !matches(r);
      if (r.hidden !== hide) { r.hidden = hide; r.tile.hidden = hide; }
    }
    for (const sec of $('board').children)
      sec.hidden = ![...sec.lastChild.children].some(t => !t.hidden);
  }

  // ---- events ----

  function eventDetail(ev) {
    const parts = [];
    if (ev.call_id !== undefined) parts.push('call ' + ev.call_id);
    if (ev.type === 'call.status' && ev.previous_call_status) parts.push(ev.previous_call_status + ' → ' + ev.call_status);
    else if (ev.call_status) parts.push(ev.call_status);
    if (ev.type === 'agent.state') parts.push((ev.previous_state ? ev.previous_state + ' → ' : '') + ev.state);
    else if (ev.state) parts.push(ev.state);
    if (typeof ev.duration === 'number') parts.push(fmtDuration(ev.duration * 1000));
    if (ev.reason) parts.push(ev.reason);
    return parts.join(' · ');
  }

  function showEvent(ev) {
    const a = ev.agent || {};
    const li = el('li');
    const t = new Date(Date.parse(ev.time) || Date.now());
    li.append(el('span', 't', t.toTimeString().slice(0, 8)),
      el('span', 'ty' + (/unreachable|long/.test(ev.type) ? ' bad' : ''),
        ev.type + ' ' + (a.name || keyOf(a))),
      el('span', 'd', eventDetail(ev)));
    li.dataset.seq = ev.seq;
    const ol = $('events');
    ol.prepend(li);
    while (ol.childElementCount > MAX_EVENTS_SHOWN) ol.lastChild.remove();
  }

  function callOf(r, ev) {
    return r.calls.find(c => c.id === String(ev.call_id));
  }
  function detailInto(c, ev) {
    if (ev.call_status !== undefined) c.status = ev.call_status;
    if (ev.direction !== undefined) c.direction = ev.direction;
    if (ev.media !== undefined) c.media = ev.media;
    if (ev.submedia !== undefined) c.submedia = ev.submedia;
  }

  // Each event changes one agent's record and tile; applying one twice changes nothing more.
  function apply(ev) {
    const a = ev.agent;
    if (!a) return;
    const r = agents.get(keyOf(a));
    if (!r) { resyncLater(500); return; }	// an agent a reload added
    let c = ev.call_id !== undefined ? callOf(r, ev) : null;
    switch (ev.type) {
    case 'call.started':
    case 'call.status':
      if (!c) {
        c = callFrom({ id: ev.call_id }, localMs(ev.call_first_seen || ev.time) ?? Date.now());
        r.calls.push(c);
      }
      detailInto(c, ev);
      r.reachable = true;
      break;
    case 'call.ended':
      r.calls = r.calls.filter(x => x !== c);
      break;
    case 'call.long':
      if (c) c.long = true;
      break;
    case 'agent.idle':
      r.calls = [];
      r.idleStart = localMs(ev.time);	// the timer when the CMS gives no state
      break;
    case 'agent.unreachable':
      r.reachable = false;
      r.reason = ev.reason || '';
      break;
    case 'agent.reachable':
      r.reachable = true;
      r.reason = '';
      break;
    case 'agent.state':
      r.state = ev.state ?? null;
      r.stateStart = localMs(ev.state_since) ?? Date.now();
      r.longState = false;
      break;
    case 'agent.long_state':
      r.state = ev.state ?? r.state;
      r.longState = true;
      break;
    }
    r.polled = true;
    updateTile(r, Date.now());
    const hide = !matches(r);
    if (hide !== r.hidden) { r.hidden = hide; r.tile.hidden = hide; }
  }

  function onEvent(ev) {
    if (syncing) { syncing.push(ev); return; }
    if (lastSeq !== null && ev.seq <= lastSeq) return;	// applied already
    if (lastSeq !== null && ev.seq > lastSeq + 1) {
      resyncLater(0);	// events gone from the log: the snapshot is the truth, and covers this one
      return;
    }
    update(ev);
    lastSeq = ev.seq;
  }

  // One event onto the page, timed: its tile, the counts, the list.
  function update(ev) {
    const t0 = performance.now();
    apply(ev);
    if (countsDirty) renderCounts();
    showEvent(ev);
    stats.apply_ms.push(performance.now() - t0);
    if (stats.apply_ms.length > 1000) stats.apply_ms.shift();
    stats.applied++;
  }

  // ---- loading and following ----

  async function getJSON(url) {
    const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok) throw new Error(url + ': HTTP ' + res.status);
    return res.json();
  }

  // Replaces every record, and tile, with the API's (names and labels may have changed).
  function applySnapshot(data) {
    const now = Date.now();
    // The daemon's clock against ours: a call's since plus its duration is the daemon's now.
    for (const a of data.agents) for (const c of a.calls || []) {
      const t = Date.parse(c.since);
      if (Number.isFinite(t) && typeof c.duration === 'number') { skewMs = now - (t + c.duration * 1000); break; }
    }
    agents.clear();
    for (const a of data.agents) {
      const r = recordFrom(a, now);
      agents.set(r.key, r);
    }
    render();
    // A first poll that finds no call says nothing on the stream: ask again until all are polled.
    if (counts.unknown) resyncLater(UNPOLLED_RETRY);
  }

  // The log's position (head: an answer of api/v1/events) first, then the snapshot: events in
  // between are applied again on top of a snapshot that has them, which is harmless (apply is
  // idempotent). Events the stream brings meanwhile wait, and follow.
  async function resync(head) {
    if (syncing) return;
    syncing = [];
    stats.resyncs++;
    try {
      head = head || await getJSON('api/v1/events?after=0&limit=1');
      applySnapshot(await getJSON('api/v1/agents'));
      lastSeq = head.last_seq;
    } finally {
      const queued = syncing;
      syncing = null;
      for (const ev of queued) onEvent(ev);
    }
  }
  let resyncTimer = null;
  function resyncLater(ms) {
    if (resyncTimer) return;
    resyncTimer = setTimeout(() => {
      resyncTimer = null;
      resync().catch(e => disconnected(String(e.message || e)));
    }, ms);
  }

  function setConn(up, text) {
    const c = $('conn');
    c.className = 'conn ' + (up ? 'up' : 'down');
    c.textContent = text;
    document.body.classList.toggle('offline', !up);
    wallboard.connected = up;
  }

  function disconnected(why) {
    if (source) { source.close(); source = null; }
    clearTimeout(retryTimer);
    const wait = backoff * (0.8 + Math.random() * 0.4);
    backoff = Math.min(backoff * 2, BACKOFF_MAX);
    setConn(false, 'disconnected — retrying in ' + Math.round(wait / 1000) + ' s' + (why ? ' (' + why + ')' : ''));
    retryTimer = setTimeout(connect, wait);
  }

  // (Re)connects: a fresh snapshot on the first connection, after a gap, or when the log is new
  // or too far ahead; otherwise the stream resumes after the last event applied (no gap, no repeat).
  async function connect() {
    stats.reconnects++;
    try {
      const head = await getJSON('api/v1/events?limit=1&after=' + (lastSeq ?? 0));
      const first = head.events && head.events[0];
      const gap = lastSeq === null || head.last_seq < lastSeq || head.lost ||
        (first && first.seq > lastSeq + 1) || head.last_seq - lastSeq > RESYNC_AFTER;
      if (gap) await resync(head);
      if (lastSeq === null) throw new Error('no snapshot yet');
    } catch (e) {
      disconnected(String(e.message || e));
      return;
    }
    source = new EventSource('api/v1/events/stream?after=' + lastSeq);
    source.onopen = () => { backoff = BACKOFF_MIN; setConn(true, 'live'); };
    source.onmessage = m => {
      let ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (typeof ev.seq === 'number') onEvent(ev);
    };
    // Its own retry would resume too, but with no backoff and no say in the re-sync.
    source.onerror = () => disconnected('');
  }

  async function prefillEvents() {
    try {
      const head = await getJSON('api/v1/events?after=0&limit=1');
      const from = Math.max(0, head.last_seq - 20);
      const page = await getJSON('api/v1/events?limit=20&after=' + from);
      for (const ev of page.events) showEvent(ev);
    } catch (e) { /* the list fills from the stream */ }
  }

  function everySecond() {
    const t0 = performance.now(), now = Date.now();
    for (const r of agents.values()) if (!r.hidden) tick(r, now);
    stats.tick_ms = performance.now() - t0;
  }

  function init() {
    $('filter').addEventListener('input', e => {
      filterText = e.target.value.trim().toLowerCase();
      applyFilter();
    });
    $('group').addEventListener('change', e => {
      groupKey = e.target.value;
      const u = new URL(location.href);
      if (groupKey) u.searchParams.set('group', groupKey); else u.searchParams.delete('group');
      history.replaceState(null, '', u);
      render();
    });
    // The URL's ?group= shows in the selector at once, not only when the snapshot comes.
    fillGroupSelect();
    renderCounts();
    setInterval(everySecond, 1000);
    prefillEvents().then(connect);
  }

  // For operators' consoles, the test and the benchmark: figures, and the page's own entry points.
  // apply and applySnapshot take the API's JSON, as the stream and api/v1/agents give it.
  const wallboard = window.wallboard = { stats, agents, counts, apply: update, applySnapshot, connected: false,
    get lastSeq() { return lastSeq; } };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
