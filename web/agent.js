// The agent workstation: log-in, ready / not ready, today's counters, the
// screen pop of a call ringing the agent's phone with the caller's earlier
// orders, the new-order form (order_form.js), emergency transfers.
//
// Shortcuts: F2 ready, F4 not ready (with the chosen reason), F6 knowledge
// search, F7 order form, F8 save the order, F9 wrap-up done, Esc leaves a field.

import { t, translatePage } from './i18n.js';
import { $, h, fill, duration, when, stateLabel, say } from './dom.js';
import { session, login, logout, onUnauthorised, get, post, query } from './api.js';
import { Live } from './live.js';
import { OrderForm } from './order_form.js';


const page = {
  me: null,          // my entry of /api/agents
  stateSince: 0,     // Date.now() when my state began
  call: null,        // the popped call {id, caller_number, did, ivr, state, orders}
  live: null,
  form: new OrderForm(),
};

function user() {
  const s = session();
  return s ? s.user : null;
}

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
    if (s.role !== 'agent' && s.role !== 'supervisor') {
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

// ----- state and counters ---------------------------------------------------

function renderMe() {
  const a = page.me;
  const badge = $('my-state');
  if (!a) return;
  badge.textContent = stateLabel(a);
  badge.className = `badge s-${a.state || 'logged_out'}`;
  badge.dataset.state = a.state || '';
  $('my-phone').textContent = a.registered ? t('agent.phone_registered') : t('agent.phone_unregistered');
  $('btn-wrap-done').hidden = a.state !== 'wrap_up';
  const d = a.today || {};
  const tis = d.time_in_state || {};
  fill($('today'),
    h('dt', {}, t('agent.today.calls')), h('dd', { id: 'today-calls' }, d.calls ?? 0),
    h('dt', {}, t('agent.today.missed')), h('dd', {}, d.missed ?? 0),
    h('dt', {}, t('agent.today.talk')), h('dd', {}, duration(d.talk_time_s ?? 0)),
    h('dt', {}, t('agent.today.avg_talk')), h('dd', {}, duration(d.average_talk_time_s)),
    h('dt', {}, t('agent.today.ready')), h('dd', {}, duration(tis.ready_s ?? 0)));
  tick();
}

function tick() {
  if (page.me) {
    $('my-in-state').textContent = t('agent.in_state', { time: duration((Date.now() - page.stateSince) / 1000) });
  }
}

async function setState(body) {
  try {
    const a = await post(`/api/agents/${encodeURIComponent(user())}/state`, body);
    applyMe({ ...page.me, ...a });
  } catch (e) {
    say($('call-status'), t('error.generic', { message: e.message }), 'error');
  }
}

function applyMe(a) {
  const changed = !page.me || page.me.state !== a.state || page.me.reason !== a.reason;
  if (changed || typeof a.in_state_s === 'number') {
    page.stateSince = Date.now() - (a.in_state_s ?? 0) * 1000;
  }
  page.me = a;
  renderMe();
}

// ----- the screen pop --------------------------------------------------------

function myCall(calls) {
  const me = user();
  return calls.find((c) => c.agent === me || (c.ringing || []).includes(me)) || null;
}

/** What a live call is to this agent: ringing, talking or ended. */
function phaseOf(call) {
  const me = user();
  if (call.state === 'ringing' && (call.ringing || []).includes(me)) return 'ringing';
  if ((call.state === 'answered' || call.state === 'connected') && call.agent === me) return 'talking';
  return 'ended';
}

async function popCall(call) {
  page.call = {
    id: call.id,
    caller_number: call.caller_number,
    did: call.did,
    ivr: call.info || null,
    state: phaseOf(call),
    talked: phaseOf(call) === 'talking',
    orders: null,
  };
  page.form.reset({ id: call.id, caller_number: call.caller_number });
  $('call-actions').hidden = false;
  say($('call-status'), '');
  renderPop();
  const c = page.call;
  try {
    const full = await get(`/api/calls/${encodeURIComponent(call.id)}`);
    if (page.call !== c) return;
    c.ivr = full.ivr || c.ivr;
    c.caller_number = full.caller_number || c.caller_number;
    c.did = full.did || c.did;
  } catch { /* the call may already be gone: keep what the list said */ }
  if (page.call !== c) return;
  // A live event names the call only: the number comes with the details.
  if (page.form.call && page.form.call.id === c.id && !page.form.call.caller_number) {
    page.form.call.caller_number = c.caller_number;
    if (!$('f-number').value) $('f-number').value = c.caller_number || '';
  }
  renderPop();
  if (c.caller_number) {
    try {
      const page1 = await get(`/api/tickets${query({ caller: c.caller_number, limit: 10 })}`);
      if (page.call === c) c.orders = page1.items.map((i) => i.order);
    } catch { if (page.call === c) c.orders = []; }
    renderPop();
  }
  if (c.state === 'talking') findDraft();
}

function setCallState(state) {
  const c = page.call;
  if (!c || c.state === state) return;
  // A call that ended stays ended, unless it was never answered and rings
  // this agent again (the ACD offers it once more after a ring timeout).
  if (c.state === 'ended' && (c.talked || state !== 'ringing')) return;
  c.state = state;
  if (state === 'talking') c.talked = true;
  if (state === 'talking') findDraft();
  if (state === 'ended') findDraft();
  renderPop();
}

/** The draft the answered call left (it outlives the call). */
async function findDraft(attempt = 0) {
  const c = page.call;
  if (!c || page.form.draftId) return;
  try {
    const drafts = await get('/api/drafts');
    const d = drafts.find((x) => x.call && x.call.call_id === c.id);
    if (d && page.call === c) { page.form.setDraft(d.id); return; }
  } catch { /* try again below */ }
  if (attempt < 5 && page.call === c && c.state !== 'ringing') {
    setTimeout(() => findDraft(attempt + 1), 1000);
  }
}

function unitName(id) {
  const u = page.form.units.find((x) => x.id === id);
  return u ? u.name : id;
}

function renderPop() {
  const c = page.call;
  const body = $('pop-body');
  if (!c) {
    fill(body, h('p', { class: 'muted' }, t('pop.none')));
    $('pop').className = 'card pop';
    return;
  }
  $('pop').className = `card pop pop-${c.state}`;
  const ivr = c.ivr || {};
  const row = (k, v, id) => [h('dt', {}, t(k)), h('dd', id ? { id } : {}, v ?? '—')];
  const lang = ivr.language ? t(`lang.${ivr.language}`) : null;
  let orders;
  if (c.orders === null) orders = h('p', { class: 'muted' }, '…');
  else if (!c.orders.length) orders = h('p', { class: 'muted' }, t('pop.history_none'));
  else {
    orders = h('ol', { id: 'pop-orders', class: 'orders' }, c.orders.map((o) => h('li', { dataset: { order: o.number } },
      h('strong', {}, o.number), ' ',
      h('span', { class: `ostate o-${o.state}` }, t(`ostate.${o.state}`)), ' ',
      h('span', { class: 'muted' }, when(o.created_at)), ' ',
      o.assignment ? h('span', {}, unitName(o.assignment.lead)) : null, ' ',
      h('span', { class: 'muted' }, t(`category.${o.details.category}`)),
      h('div', { class: 'small' }, o.details.description))));
  }
  fill(body,
    h('p', { class: `callstate cs-${c.state}` }, t(`pop.${c.state}`)),
    h('dl', { class: 'facts' },
      row('pop.caller', c.caller_number, 'pop-caller'),
      row('pop.did', c.did),
      row('pop.language', lang),
      row('pop.ivr_path', (ivr.ivr_path || []).join(' › ')),
      row('pop.queue', ivr.queue),
      row('pop.waited', ivr.waited_s !== undefined ? duration(ivr.waited_s) : null)),
    h('h3', {}, t('pop.history')),
    orders);
  const ended = c.state === 'ended';
  for (const b of document.querySelectorAll('#call-actions button')) b.disabled = ended;
}

// ----- snapshots and events ---------------------------------------------------

async function refresh() {
  const [agents, queues, calls] = await Promise.all([get('/api/agents'), get('/api/queues'), get('/api/calls?limit=1')]);
  return { agents, queues, calls: calls.live };
}

function onSnapshot(snap) {
  const me = (snap.agents || []).find((a) => a.id === user());
  if (me) applyMe(me);
  const call = myCall(snap.calls || []);
  if (call && (!page.call || page.call.id !== call.id)) {
    popCall(call);
  } else if (call) {
    setCallState(phaseOf(call));
  } else if (page.call && page.call.state !== 'ended') {
    setCallState('ended');
  }
}

function onEvent(ev) {
  const me = user();
  switch (ev.type) {
    case 'agent_state_changed':
      if (ev.agent === me && ev.state) applyMe({ ...page.me, ...ev.state, in_state_s: 0 });
      break;
    case 'call_ringing':
      if (ev.agent === me && (!page.call || page.call.id !== ev.call)) {
        popCall({ id: ev.call, caller_number: ev.caller_number, did: ev.did, state: 'ringing', ringing: [me] });
      }
      break;
    case 'call_answered':
      if (ev.agent === me && page.call && page.call.id === ev.call) setCallState('talking');
      break;
    case 'agent_left_call':
    case 'call_transferred':
    case 'call_ended':
      if (page.call && page.call.id === ev.call) setCallState('ended');
      break;
    default:
      break;
  }
}

// ----- call buttons -------------------------------------------------------------

async function transfer(number) {
  const c = page.call;
  if (!c || c.state === 'ended') return;
  if (!window.confirm(t('call.transfer_confirm', { number, name: t(`emergency.${number}`) }))) return;
  try {
    await post(`/api/calls/${encodeURIComponent(c.id)}/transfer`, { emergency: number });
    say($('call-status'), t('call.transferring', { number }), 'ok');
  } catch (e) {
    say($('call-status'), t('error.generic', { message: e.message }), 'error');
  }
}

/** The caller goes to the satisfaction survey; the agent's phone is released. */
async function handToSurvey() {
  const c = page.call;
  if (!c || c.state !== 'talking') return;
  try {
    await post(`/api/calls/${encodeURIComponent(c.id)}/survey`);
    say($('call-status'), t('call.survey_done'), 'ok');
    setCallState('ended');
  } catch (e) {
    say($('call-status'), t('error.generic', { message: e.message }), 'error');
  }
}

// ----- start ---------------------------------------------------------------------

function keys(e) {
  const actions = {
    F2: () => setState({ state: 'ready' }),
    F4: () => setState({ state: 'not_ready', reason: $('nr-reason').value }),
    F6: () => $('kb-q').focus(),
    F7: () => $('f-number').focus(),
    F8: () => $('order-form').requestSubmit(),
    F9: () => { if (page.me && page.me.state === 'wrap_up') setState({ state: 'ready' }); },
    Escape: () => document.activeElement && document.activeElement.blur(),
  };
  const act = actions[e.key];
  if (act && !$('app').hidden) {
    e.preventDefault();
    act();
  }
}

async function start() {
  const s = session();
  if (!s) { showLogin(); return; }
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = s.user;
  await page.form.init();
  page.form.onSaved = () => { if (page.live) page.live.soon(); };
  page.live = new Live({
    token: () => (session() || {}).token,
    refresh,
    onSnapshot,
    onEvent,
    onMode: (m) => { $('mode').textContent = t(`mode.${m}`); $('mode').className = `mode m-${m}`; $('mode').dataset.mode = m; },
  });
  page.live.start();
  $('btn-ready').focus();
}

function main() {
  translatePage();
  document.title = t('app.title.agent');
  for (const b of document.querySelectorAll('[data-emergency]')) {
    const n = b.dataset.emergency;
    b.textContent = `${n} ${t(`emergency.${n}`)}`;
    b.addEventListener('click', () => transfer(n));
  }
  $('login-form').addEventListener('submit', onLogin);
  $('btn-ready').addEventListener('click', () => setState({ state: 'ready' }));
  $('btn-not-ready').addEventListener('click', () => setState({ state: 'not_ready', reason: $('nr-reason').value }));
  $('btn-wrap-done').addEventListener('click', () => setState({ state: 'ready' }));
  $('btn-survey').addEventListener('click', handToSurvey);
  $('btn-logout').addEventListener('click', () => { logout(); showLogin(); });
  document.addEventListener('keydown', keys);
  onUnauthorised(() => showLogin());
  setInterval(tick, 1000);
  if (session()) start().catch((e) => showLogin(e.message)); else showLogin();
}

main();
