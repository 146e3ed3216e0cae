// The new-order form of the agent workstation and the knowledge search
// beside it. The form completes the draft the answered call left (§15:
// `POST /api/drafts/{id}/order`); without a draft (no call, or still
// ringing) it opens the order with `POST /api/tickets` and applies the intake
// decision as the order's first step. Saving works after the call ended: the
// draft outlives the call.

import { t } from './i18n.js';
import { $, h, fill, say } from './dom.js';
import { get, post, query } from './api.js';

const CATEGORIES = ['consultation', 'help', 'complaint', 'report', 'suggestion', 'praise'];
const URGENCIES = ['normal', 'urgent', 'very_urgent'];
const PREFERENCES = ['phone', 'sms', 'email', 'no_reply'];
const INTAKES = ['dispatch', 'answer_on_spot', 'refuse', 'none'];
const REFUSALS = ['unlawful', 'outside_remit', 'in_legal_procedure', 'duplicate_while_in_progress',
  'repeated_after_answer', 'abusive_or_unclear', 'other'];

function options(select, values, prefix) {
  fill(select, values.map((v) => h('option', { value: v }, t(`${prefix}.${v}`))));
}

export class OrderForm {
  constructor() {
    this.call = null;      // {id, caller_number} of the call the form is about
    this.draftId = null;   // the call's open draft
    this.articles = [];    // knowledge articles chosen for an answer on the spot
    this.units = [];
    this.saving = false;
    this.onSaved = () => {};
  }

  async init() {
    options($('f-category'), CATEGORIES, 'category');
    options($('f-urgency'), URGENCIES, 'urgency');
    options($('f-pref'), PREFERENCES, 'pref');
    options($('f-refusal'), REFUSALS, 'refusal');
    fill($('intake-choices'), INTAKES.map((v) => h('label', { class: 'radio' },
      h('input', { type: 'radio', name: 'intake', value: v, checked: v === 'dispatch', onchange: () => this.showIntake() }),
      ' ', t(`intake.${v}`))));
    $('order-form').addEventListener('submit', (e) => { e.preventDefault(); this.save(); });
    $('btn-new').addEventListener('click', () => this.reset(null));
    $('kb-form').addEventListener('submit', (e) => { e.preventDefault(); this.searchKb(); });
    const [topics, units] = await Promise.all([get('/api/topics'), get('/api/units')]);
    fill($('f-topic'), topics.map((tp) => h('option', { value: tp.code },
      '\u3000'.repeat(tp.code.split('.').length - 1) + tp.name)));
    this.units = units;
    fill($('f-lead'), units.map((u) => h('option', { value: u.id }, u.name)));
    fill($('f-co'), units.map((u) => h('label', { class: 'chip' },
      h('input', { type: 'checkbox', value: u.id, name: 'co' }), ' ', u.name)));
    const districts = [...new Set(units.map((u) => u.district).filter(Boolean))];
    fill($('districts'), districts.map((d) => h('option', { value: d })));
    this.reset(null);
  }

  intake() {
    const r = document.querySelector('input[name=intake]:checked');
    return r ? r.value : 'none';
  }

  setIntake(v) {
    const r = document.querySelector(`input[name=intake][value=${v}]`);
    if (r) r.checked = true;
    this.showIntake();
  }

  showIntake() {
    const v = this.intake();
    for (const part of ['dispatch', 'answer_on_spot', 'refuse']) $(`intake-${part}`).hidden = part !== v;
  }

  /** A fresh form for `call` ({id, caller_number}) or for no call. */
  reset(call) {
    this.call = call;
    this.draftId = null;
    this.articles = [];
    $('order-form').reset();
    $('f-number').value = call ? call.caller_number || '' : '';
    $('f-pref').value = 'phone';
    this.setIntake('dispatch');
    $('f-articles').textContent = '';
    say($('order-status'), '');
    this.showLink();
  }

  /** The call's draft was found (the call was answered). */
  setDraft(id) {
    this.draftId = id;
    this.showLink();
  }

  showLink() {
    const parts = [];
    if (this.call) parts.push(`${t('order.channel')}: ${t('channel.phone')} · ${t('order.call_link')} ${this.call.id}`);
    else parts.push(t('order.no_call'));
    if (this.draftId) parts.push(t('order.draft', { id: this.draftId }));
    $('order-link').textContent = parts.join(' · ');
  }

  details() {
    const number = $('f-number').value.trim();
    const address = $('f-address').value.trim();
    const district = $('f-district').value.trim();
    const d = {
      channel: 'phone',
      caller: {
        name: $('f-name').value.trim() || null,
        number: number || null,
        contact_preference: $('f-pref').value,
      },
      address: address ? { text: address, district: district || null } : null,
      category: $('f-category').value,
      topic: $('f-topic').value,
      description: $('f-description').value.trim(),
      urgency: $('f-urgency').value,
      confidential: $('f-confidential').checked,
    };
    if (!this.draftId && this.call) d.links = { call_ids: [this.call.id] };
    return d;
  }

  intakeBody() {
    switch (this.intake()) {
      case 'dispatch':
        return {
          command: 'dispatch',
          lead: $('f-lead').value,
          co_handlers: [...document.querySelectorAll('input[name=co]:checked')]
            .map((c) => c.value).filter((v) => v !== $('f-lead').value),
          note: $('f-note').value.trim() || null,
        };
      case 'answer_on_spot':
        return { command: 'answer_on_spot', answer: $('f-answer').value.trim(), knowledge_articles: this.articles };
      case 'refuse':
        return { command: 'refuse', reason: $('f-refusal').value, explanation: $('f-explanation').value.trim() };
      default:
        return null;
    }
  }

  /** The first empty required field as [element, label key], or null. */
  missing() {
    const need = [['f-description', 'order.description'], ['f-topic', 'order.topic']];
    const i = this.intake();
    if (i === 'dispatch') need.push(['f-lead', 'order.lead']);
    if (i === 'answer_on_spot') need.push(['f-answer', 'order.answer']);
    if (i === 'refuse') need.push(['f-explanation', 'order.explanation']);
    for (const [id, key] of need) if (!$(id).value.trim()) return [$(id), key];
    return null;
  }

  async save() {
    if (this.saving) return;
    const status = $('order-status');
    const gap = this.missing();
    if (gap) {
      say(status, t('order.required', { field: t(gap[1]) }), 'error');
      gap[0].focus();
      return;
    }
    this.saving = true;
    $('btn-save').disabled = true;
    try {
      const details = this.details();
      const intake = this.intakeBody();
      let order;
      if (this.draftId) {
        const r = await post(`/api/drafts/${this.draftId}/order`, { details, intake });
        order = r.order;
      } else {
        const r = await post('/api/tickets', details);
        order = r.order;
        if (intake) {
          const { command, ...fields } = intake;
          const s = await post(`/api/tickets/${order.number}/${command}`, fields);
          order = (s.ticket && s.ticket.order) || order;
        }
      }
      this.draftId = null;
      this.showLink();
      say(status, t('order.saved', { number: order.number, state: t(`ostate.${order.state}`) }), 'ok');
      status.dataset.order = order.number;
      this.onSaved(order);
    } catch (e) {
      say(status, t('order.save_failed', { message: e.field ? `${e.field}: ${e.message}` : e.message }), 'error');
    } finally {
      this.saving = false;
      $('btn-save').disabled = false;
    }
  }

  async searchKb() {
    const q = $('kb-q').value.trim();
    const list = $('kb-results');
    if (!q) { fill(list); return; }
    try {
      const articles = await get(`/api/knowledge${query({ q, limit: 10 })}`);
      if (!articles.length) { fill(list, h('li', { class: 'muted' }, t('kb.none'))); return; }
      fill(list, articles.map((a) => h('li', {},
        h('strong', {}, a.title),
        h('p', { class: 'small' }, a.body.length > 160 ? `${a.body.slice(0, 160)}…` : a.body),
        h('button', { type: 'button', class: 'small', onclick: () => this.useArticle(a) }, t('kb.use')))));
    } catch (e) {
      fill(list, h('li', { class: 'status error' }, t('error.generic', { message: e.message })));
    }
  }

  /** One click: answered on the spot with article `a`, and saved if the form is complete. */
  useArticle(a) {
    this.setIntake('answer_on_spot');
    this.articles = [a.id];
    $('f-answer').value = `${a.title}：${a.body.slice(0, 300)}`;
    $('f-articles').textContent = t('kb.used', { id: a.id });
    if (!$('f-description').value.trim()) {
      $('f-description').value = $('kb-q').value.trim();
    }
    this.save();
  }
}
