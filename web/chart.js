// A tiny SVG chart module (no library, no CDN): vertical bar charts with
// labels, sized by a viewBox so they scale with the page.

const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A "nice" upper bound for an axis whose largest value is `max`. */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/**
 * A bar chart as an <svg> element.
 * @param {{label: string, value: number|null}[]} data
 * @param {object} o  title, format(v) for value labels, max (axis top), width, height, every (label every n bars)
 */
export function barChart(data, o = {}) {
  const W = o.width || 480;
  const H = o.height || 200;
  const pad = { l: 36, r: 8, t: 20, b: 28 };
  const fmt = o.format || ((v) => String(v));
  const values = data.map((d) => (typeof d.value === 'number' ? d.value : 0));
  const top = o.max || niceMax(Math.max(0, ...values));
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  if (o.title) svg.append(el('title', {}, o.title));
  const plotW = W - pad.l - pad.r;
  const plotH = H - pad.t - pad.b;
  for (let i = 0; i <= 4; i += 1) {
    const y = pad.t + plotH - (plotH * i) / 4;
    svg.append(el('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: 'grid' }));
    svg.append(el('text', { x: pad.l - 4, y: y + 4, 'text-anchor': 'end', class: 'axis' }, fmt((top * i) / 4)));
  }
  const n = Math.max(1, data.length);
  const step = plotW / n;
  const every = o.every || 1;
  data.forEach((d, i) => {
    const v = typeof d.value === 'number' ? d.value : 0;
    const bh = top > 0 ? (plotH * Math.min(v, top)) / top : 0;
    const x = pad.l + i * step + step * 0.15;
    const y = pad.t + plotH - bh;
    const bar = el('rect', { x, y, width: step * 0.7, height: Math.max(bh, 0), class: d.className || 'bar' });
    bar.append(el('title', {}, `${d.label}: ${d.value === null ? '—' : fmt(v)}`));
    svg.append(bar);
    if (i % every === 0) {
      svg.append(el('text', { x: x + step * 0.35, y: H - pad.b + 14, 'text-anchor': 'middle', class: 'axis' }, d.label));
    }
    if (o.valueLabels && d.value !== null && v > 0) {
      svg.append(el('text', { x: x + step * 0.35, y: y - 3, 'text-anchor': 'middle', class: 'value' }, fmt(v)));
    }
  });
  svg.append(el('line', { x1: pad.l, x2: W - pad.r, y1: pad.t + plotH, y2: pad.t + plotH, class: 'baseline' }));
  return svg;
}
