// The time range of a page, held in the URL as `range=1h` (relative to now)
// or `start=..&end=..` (unix seconds), so a link shows the same window.

import {h} from './dom.js';

export const RANGES = [
  ['15m', 'Last 15 minutes', 900],
  ['1h', 'Last hour', 3600],
  ['4h', 'Last 4 hours', 4 * 3600],
  ['1d', 'Last day', 86400],
  ['7d', 'Last 7 days', 7 * 86400],
];

export function resolveRange(query, fallback = '1h') {
  const start = parseFloat(query.get('start'));
  const end = parseFloat(query.get('end'));
  if (Number.isFinite(start) && Number.isFinite(end) && end > start) {
    return {start, end, key: 'custom'};
  }
  const key = RANGES.some(([name]) => name === query.get('range')) ? query.get('range') : fallback;
  const seconds = RANGES.find(([name]) => name === key)[2];
  const now = Math.ceil(Date.now() / 1000);
  return {start: now - seconds, end: now, key};
}

// Only what goes into the URL: a preset name or the absolute window.
export function rangeQuery(range) {
  return range.key === 'custom' ? {start: range.start, end: range.end} : {range: range.key};
}

export function apiRange(range) {
  return {start: range.start, end: range.end};
}

// A <select> of the presets; onChange gets the chosen preset name.
export function rangeSelect(range, onChange) {
  const options = RANGES.map(([name, label]) => h('option', {value: name, selected: name === range.key}, label));
  if (range.key === 'custom') {
    options.unshift(h('option', {value: 'custom', selected: true}, 'Custom window'));
  }
  return h('label', {class: 'range'}, 'Time range ',
    h('select', {name: 'range', onchange: (event) => onChange(event.target.value)}, options));
}
