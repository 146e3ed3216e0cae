// The supervisor wallboard: seats, queues, live calls, recordings with an
// in-page player, overdue orders, supervision records, charts (chart.js) and
// the incident announcement.
//
// Shortcuts: F2 large-font mode (for a wall screen), F3 recording search.

import { t, translatePage } from './i18n.js';
import { $, h, fill, duration, when, mask, percent, localDate, stateLabel, say } from './dom.js';
import { session, login, logout, onUnauthorised, get, api, query } from './api.js';
import { Live } from './live.js';
import { barChart } from './chart.js';

/** When a queue figure turns red. */
export const THRESHOLDS = {
  waiting: 5,            // callers in line
  longest_wait_s: 60,    // seconds
  service_level: 0.8,    // answered within 15 s, below this is red
  abandon_rate: 0.05,    // above this is red
  average_wait_s: 30,
};

const page = {
  agents: [],
  queues: [],
  calls: [],
  at: Date.now(),       // when the figures above were read
  live: null,
  playing: null,        // object URL of the recording in the player
};

// ----- log-in ---------------------------------------------------------------

function showLogin(message) {
  if (page.live) page.live.stop();
  page.live = null;
  $('app').hidden = true;
  $('login').hidden = false;
  say($('login-status'), message || '', message ? 'error' : 'info');
  $('login-user').focus();
}

async function onLogin(e) {
  e.preventDefault();
  try {
    const s = await login($('login-user').value.trim(), $('login-password').value);
    if (s.role !== 'supervisor') {
      logout();
      say($('login-status'), t('login.wrong_role', { role: s.role }), 'error');
      return;
    }
    $('login-password').value = '';
    await start();
  } catch (err) {
    say($('login-status'), t('login.failed', { message: err.message }), 'error');
  }
}

// ----- live tables ------------------------------------------------------------

const since = (s) => (s ?? 0) + (Date.now() - page.at) / 1000;

function renderSeats() {
  const byCall = new Map(page.calls.map((c) => [c.id, c]));
  fill($('seats').tBodies[0], page.agents.filter((a) => a.role !== 'unit').map((a) => {
    const call = a.call ? byCall.get(a.call) : null;
    return h('tr', { class: `s-${a.state || 'logged_out'}`, dataset: { agent: a.id, state: a.state || '' } },
      h('td', {}, a.id),
      h('td', {}, a.name),
      h('td', { class: 'state' }, stateLabel(a), a.registered ? '' : ' ⚠'),
      h('td', { class: 'num' }, a.state ? duration(since(a.in_state_s)) : '—'),
      h('td', { class: 'call' }, call ? mask(call.caller_number) : (a.call ? '…' : '')),
      h('td', { class: 'num' }, a.today ? a.today.calls : '—'));
  }));
}

function red(cond) {
  return cond ? 'alert' : '';
}

function renderQueues() {
  fill($('queues').tBodies[0], page.queues.map((q) => {
    const d = q.today || {};
    const abandon = d.offered ? d.abandoned / d.offered : null;
    const longest = q.waiting ? since(q.longest_wait_s) : 0;
    return h('tr', { dataset: { queue: q.name } },
      h('td', {}, t(`queue.${q.name}`) === `queue.${q.name}` ? q.name : t(`queue.${q.name}`)),
      h('td', { class: `num waiting ${red(q.waiting >= THRESHOLDS.waiting)}` }, q.waiting),
      h('td', { class: `num ${red(longest >= THRESHOLDS.longest_wait_s)}` }, q.waiting ? duration(longest) : '—'),
      h('td', { class: `num ${red(d.service_level !== null && d.service_level !== undefined && d.service_level < THRESHOLDS.service_level)}` }, percent(d.service_level)),
      h('td', { class: `num ${red(abandon !== null && abandon > THRESHOLDS.abandon_rate)}` }, percent(abandon)),
      h('td', { class: `num ${red((d.average_wait_s ?? 0) > THRESHOLDS.average_wait_s)}` }, duration(d.average_wait_s)),
      h('td', { class: 'num' }, duration(d.average_handle_time_s)),
      h('td', { class: 'num offered' }, d.offered ?? 0));
  }));
}

function renderCalls() {
  const body = $('calls').tBodies[0];
  if (!page.calls.length) {
    fill(body, h('tr', {}, h('td', { colspan: 5, class: 'muted' }, t('sup.no_calls'))));
    return;
  }
  fill(body, page.calls.map((c) => h('tr', { dataset: { call: c.id } },
    h('td', {}, mask(c.caller_number)),
    h('td', {}, c.did),
    h('td', {}, c.transferred_to ? `→ ${c.transferred_to}` : t(`cs.${c.state}`)),
    h('td', {}, c.agent || (c.ringing || []).join(', ') || '—'),
    h('td', { class: 'num' }, duration(since(c.duration_s))))));
}

function render() {
  renderSeats();
  renderQueues();
  renderCalls();
}

async function refresh() {
  const [agents, queues, calls] = await Promise.all([get('/api/agents'), get('/api/queues'), get('/api/calls?limit=1')]);
  return { agents, queues, calls: calls.live };
}

let afterCalls = null;

function onSnapshot(snap) {
  // A call that left the list has (or soon has) its record and recording.
  const now = new Set((snap.calls || []).map((c) => c.id));
  if (page.calls.some((c) => !now.has(c.id))) {
    clearTimeout(afterCalls);
    afterCalls = setTimeout(() => { loadRecordings(); loadCharts(); }, 1500);
  }
  page.agents = snap.agents || [];
  page.queues = snap.queues || [];
  page.calls = snap.calls || [];
  page.at = Date.now();
  render();
}

function onEvent(ev) {
  // Cheap immediate updates; Live re-reads the full figures right after.
  if (ev.type === 'agent_state_changed') {
    const a = page.agents.find((x) => x.id === ev.agent);
    if (a && ev.state) {
      Object.assign(a, ev.state);
      if (ev.state.state !== 'not_ready') delete a.reason;
      a.in_state_s = -((Date.now() - page.at) / 1000);
      renderSeats();
    }
  } else if (ev.type === 'queue_changed') {
    const q = page.queues.find((x) => x.name === ev.queue);
    if (q) {
      q.waiting = ev.waiting;
      if (typeof ev.longest_wait_s === 'number') q.longest_wait_s = ev.longest_wait_s - (Date.now() - page.at) / 1000;
      renderQueues();
    }
  } else if (ev.type === 'order_changed' || ev.type === 'supervision_raised') {
    loadOrders();
  } else if (ev.type === 'call_ended') {
    // Its record and recording are written as the media closes.
    for (const wait of [1500, 5000]) setTimeout(() => { loadRecordings(); loadCharts(); }, wait);
  }
}

// ----- recordings -------------------------------------------------------------

async function loadRecordings() {
  const date = $('rec-date').value;
  const q = query({
    from: date, to: date,
    agent: $('rec-agent').value, caller: $('rec-caller').value, order: $('rec-order').value,
    limit: 50,
  });
  const body = $('recordings').tBodies[0];
  try {
    const rows = await get(`/api/recordings${q}`);
    if (!rows.length) {
      fill(body, h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('sup.rec.none'))));
      return;
    }
    fill(body, rows.map((r) => h('tr', { dataset: { recording: r.id, call: r.call_id } },
      h('td', {}, when(r.started_at)),
      h('td', {}, r.caller_number),
      h('td', {}, r.agent || '—'),
      h('td', {}, r.ticket_id || '—'),
      h('td', { class: 'num' }, duration(r.duration_ms / 1000)),
      h('td', {}, h('button', { type: 'button', class: 'small', onclick: () => play(r) }, t('sup.rec.play'))))));
  } catch (e) {
    fill(body, h('tr', {}, h('td', { colspan: 6, class: 'status error' }, t('error.generic', { message: e.message }))));
  }
}

/** Plays a recording in the page: the server issues a short-lived play
 *  link for that one recording (an <audio> element cannot send the bearer
 *  token), which the element streams with HTTP range requests, so seeking
 *  does not wait for the whole file. */
async function play(r) {
  try {
    const link = await api('POST', `/api/recordings/${encodeURIComponent(r.id)}/play`);
    const player = $('player');
    player.src = link.url;
    player.dataset.recording = r.id;
    await player.play().catch(() => {});
  } catch (e) {
    say($('sup-status'), t('error.generic', { message: e.message }), 'error');
  }
}

// ----- orders, supervision, charts, announcement --------------------------------

async function loadOrders() {
  try {
    const [overdue, records] = await Promise.all([
      get('/api/tickets?overdue=true&limit=20'),
      get('/api/supervision?limit=20'),
    ]);
    const ob = $('overdue').tBodies[0];
    if (!overdue.items.length) fill(ob, h('tr', {}, h('td', { colspan: 4, class: 'muted' }, t('sup.overdue_none'))));
    else {
      fill(ob, overdue.items.map(({ order: o }) => {
        const dl = o.deadlines || {};
        const due = dl.sign_by || dl.respond_by || dl.complete_by || dl.reply_by;
        return h('tr', { class: 'alert-row' }, h('td', {}, o.number), h('td', {}, t(`ostate.${o.state}`)),
          h('td', {}, o.assignment ? o.assignment.lead : '—'), h('td', {}, when(due)));
      }));
    }
    const sb = $('supervision').tBodies[0];
    if (!records.length) fill(sb, h('tr', {}, h('td', { colspan: 5, class: 'muted' }, t('sup.supervision_none'))));
    else {
      fill(sb, records.map((r) => h('tr', {}, h('td', {}, t(`sk.${r.kind}`)), h('td', {}, r.order || '—'),
        h('td', {}, r.unit || r.district || '—'), h('td', {}, t(`tier.${r.tier}`)), h('td', {}, when(r.raised_at)))));
    }
  } catch (e) {
    say($('sup-status'), t('error.generic', { message: e.message }), 'error');
  }
}

function hourChart(target, perHour, perDay) {
  const data = perHour.calls.map((n, i) => ({ label: String(i), value: perDay ? n / perHour.days : n }));
  const fmt = perDay ? (v) => v.toFixed(v >= 10 ? 0 : v >= 1 ? 1 : 2) : (v) => v.toFixed(0);
  // Whole calls: a top that is a multiple of 4 keeps the 4 gridlines' labels whole.
  const top = perDay ? undefined : Math.max(4, Math.ceil(Math.max(...perHour.calls) / 4) * 4);
  fill($(target), barChart(data, { title: t(perDay ? 'sup.per_hour_30' : 'sup.per_hour_today'), every: 3, format: fmt, max: top }));
}

function satChart(target, rows, title) {
  if (!rows.length) { fill($(target), h('p', { class: 'muted' }, t('sup.no_data'))); return; }
  const data = rows.map((r) => ({
    label: r.unit,
    value: r.satisfied_rate === null || r.satisfied_rate === undefined ? null : r.satisfied_rate * 100,
    className: r.satisfied_rate !== null && r.satisfied_rate < 0.8 ? 'bar low' : 'bar',
  }));
  fill($(target), barChart(data, { title, max: 100, format: (v) => `${v.toFixed(0)}%`, valueLabels: true }));
}

async function loadCharts() {
  try {
    const today = localDate(0);
    const [hToday, h30, sToday, s30] = await Promise.all([
      get('/api/calls/per-hour'),
      get(`/api/calls/per-hour${query({ from: localDate(29), to: today })}`),
      get(`/api/reports/satisfaction-by-unit${query({ from: today, to: today })}`),
      get(`/api/reports/satisfaction-by-unit${query({ from: localDate(29), to: today })}`),
    ]);
    hourChart('chart-hour-today', hToday, false);
    hourChart('chart-hour-30', h30, true);
    satChart('chart-sat-today', sToday, t('sup.sat_today'));
    satChart('chart-sat-30', s30, t('sup.sat_30'));
  } catch (e) {
    say($('sup-status'), t('error.generic', { message: e.message }), 'error');
  }
}

function renderAnnouncement(prompt) {
  const b = $('ann-state');
  b.textContent = prompt ? t('sup.announcement_on', { prompt }) : t('sup.announcement_off');
  b.className = prompt ? 'badge s-ringing' : 'badge';
  b.dataset.prompt = prompt || '';
}

async function loadAnnouncement() {
  try {
    renderAnnouncement((await get('/api/announcement')).prompt);
  } catch (e) {
    say($('sup-status'), t('error.generic', { message: e.message }), 'error');
  }
}

async function setAnnouncement(prompt) {
  try {
    if (prompt) renderAnnouncement((await api('PUT', '/api/announcement', { prompt })).prompt);
    else { await api('DELETE', '/api/announcement'); renderAnnouncement(null); }
    say($('sup-status'), '');
  } catch (e) {
    say($('sup-status'), t('error.generic', { message: e.message }), 'error');
  }
}

// ----- start ---------------------------------------------------------------------

function toggleLarge() {
  document.body.classList.toggle('large');
  try { localStorage.setItem('hotline.large', document.body.classList.contains('large') ? '1' : ''); } catch { /* ignore */ }
}

async function start() {
  const s = session();
  if (!s || s.role !== 'supervisor') { showLogin(); return; }
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = s.user;
  page.live = new Live({
    token: () => (session() || {}).token,
    refresh,
    onSnapshot,
    onEvent,
    onMode: (m) => { $('mode').textContent = t(`mode.${m}`); $('mode').className = `mode m-${m}`; $('mode').dataset.mode = m; },
  });
  page.live.start();
  await Promise.all([loadRecordings(), loadOrders(), loadCharts(), loadAnnouncement()]);
}

function main() {
  translatePage();
  document.title = t('app.title.supervisor');
  try { if (localStorage.getItem('hotline.large')) document.body.classList.add('large'); } catch { /* ignore */ }
  $('login-form').addEventListener('submit', onLogin);
  $('btn-logout').addEventListener('click', () => { logout(); showLogin(); });
  $('btn-large').addEventListener('click', toggleLarge);
  $('rec-form').addEventListener('submit', (e) => { e.preventDefault(); loadRecordings(); });
  $('ann-form').addEventListener('submit', (e) => { e.preventDefault(); setAnnouncement($('ann-prompt').value.trim()); });
  $('ann-off').addEventListener('click', () => setAnnouncement(null));
  document.addEventListener('keydown', (e) => {
    if ($('app').hidden) return;
    if (e.key === 'F2') { e.preventDefault(); toggleLarge(); }
    if (e.key === 'F3') { e.preventDefault(); $('rec-caller').focus(); }
  });
  onUnauthorised(() => showLogin());
  // Durations tick between refreshes; recordings, orders and charts every minute.
  setInterval(render, 1000);
  setInterval(() => { if (!$('app').hidden) { loadOrders(); loadCharts(); loadAnnouncement(); } }, 60000);
  if (session()) start().catch((e) => showLogin(e.message)); else showLogin();
}

main();
