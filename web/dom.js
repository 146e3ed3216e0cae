// Small DOM and formatting helpers shared by the pages (no framework).

import { t } from './i18n.js';

/** `document.getElementById`. */
export const $ = (id) => document.getElementById(id);

/** An element with attributes/properties and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Seconds as "12秒", "3分05秒", "1时02分". */
export function duration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '—';
  s = Math.max(0, Math.round(s));
  if (s < 60) return t('time.s', { n: s });
  if (s < 3600) return t('time.ms', { m: Math.floor(s / 60), s: String(s % 60).padStart(2, '0') });
  return t('time.hms', { h: Math.floor(s / 3600), m: String(Math.floor((s % 3600) / 60)).padStart(2, '0') });
}

/** A caller number with all but the last four digits hidden. */
export function mask(number) {
  if (!number) return '—';
  const s = String(number);
  return s.length <= 4 ? s : '*'.repeat(Math.min(s.length - 4, 7)) + s.slice(-4);
}

/** An RFC 3339 time as local "MM-DD HH:MM". */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A 0–1 ratio as a percentage, or "—". */
export function percent(x) {
  return x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`;
}

/** Today's local date as YYYY-MM-DD, `days` days back. */
export function localDate(daysBack = 0) {
  const d = new Date(Date.now() - daysBack * 86400000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A state label for an agent entry ({state, reason}). */
export function stateLabel(a) {
  if (!a || !a.state) return '—';
  const base = t(`state.${a.state}`);
  return a.state === 'not_ready' && a.reason ? `${base}·${t(`reason.${a.reason}`)}` : base;
}

/** Shows a message in the status line `el` (kind: ok | error | info). */
export function say(el, text, kind = 'info') {
  el.textContent = text;
  el.className = `status ${kind}`;
}
