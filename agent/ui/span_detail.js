// The panel with everything about one span: identity, timing, error,
// span links and events, and all of its meta and metrics.

import {h, append, clipped, route, routeWithQuery} from './dom.js';
import {formatDuration, formatDateTime, formatPercent} from './format.js';
import {colourChip} from './colour.js';

// Error details live in meta under these keys (ddtrace and older tracers).
const ERROR_KEYS = {type: ['error.type', 'error.kind'], message: ['error.message', 'error.msg'], stack: ['error.stack']};

export function renderSpanDetail(panel, span, model, {onSelectSpan, onClose}) {
  const raw = span.raw;
  const meta = raw.meta || {};
  const metrics = raw.metrics || {};
  const total = model.end - model.begin;
  const spanButton = (target, label) => h('button', {type: 'button', class: 'link-button', onclick: () => onSelectSpan(target)}, label);

  // append() flattens the sections that are lists of nodes.
  panel.replaceChildren();
  append(panel, [
    h('header', {},
      h('h2', {id: 'span-detail-title'}, span.name),
      h('button', {type: 'button', class: 'close', 'aria-label': 'Close span detail (Esc)', title: 'Close (Esc)', onclick: onClose}, '×')),
    h('div', {class: 'name-cell'}, colourChip(span.service),
      clipped('a', span.service, {href: route('service', span.service), class: 'service-link'})),
    h('p', {class: 'resource'}, span.resource),
    fields([
      ['Service', span.service],
      ['Resource', span.resource],
      ['Operation', span.name],
      ['Type', raw.type || '–'],
      ['Trace ID', idValue(raw.trace_id || model.traceId)],
      ['Span ID', idValue(span.id)],
      ['Parent ID', span.parent ? h('span', {}, idValue(span.parent.id), ' ', spanButton(span.parent, 'go to parent'))
        : (span.parentId ? h('span', {}, idValue(span.parentId), ' (not in this trace)') : 'none (root)')],
      ['Start', formatDateTime(raw.start_us)],
      ['Offset', `+${formatDuration(span.start - model.begin)}`],
      ['Duration', `${formatDuration(span.duration)} (${formatPercent(span.duration / total)} of the trace)`],
      ['Self time', formatDuration(span.selfTime)],
      ['Children', span.children.length ? h('span', {}, String(span.children.length), ' ', spanButton(span.children[0], 'first child')) : '0'],
      ['Error', span.error ? h('span', {class: 'badge'}, 'error') : 'no'],
    ]),
    span.error || ERROR_KEYS.message.some((key) => key in meta) ? errorSection(meta) : null,
    linksSection(raw.span_links, model, onSelectSpan),
    eventsSection(raw.span_events),
    h('h3', {}, `Tags (${Object.keys(meta).length})`),
    keyValueTable(meta, 'meta'),
    h('h3', {}, `Metrics (${Object.keys(metrics).length})`),
    keyValueTable(metrics, 'metrics'),
  ]);
  panel.hidden = false;
  panel.dataset.spanId = span.id;
}

function fields(entries) {
  return h('dl', {class: 'fields'}, entries.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
}

// Hex as the API gives it; the decimal form (as in logs) in the tooltip.
function idValue(hex) {
  let decimal = '';
  try { decimal = BigInt(`0x${hex}`).toString(); } catch { /* not hex: show as is */ }
  return h('code', {title: decimal ? `decimal ${decimal}` : ''}, String(hex));
}

function firstOf(meta, keys) {
  for (const key of keys) if (meta[key] !== undefined) return meta[key];
  return undefined;
}

function errorSection(meta) {
  const type = firstOf(meta, ERROR_KEYS.type);
  const text = firstOf(meta, ERROR_KEYS.message);
  const stack = firstOf(meta, ERROR_KEYS.stack);
  return h('section', {class: 'error-box'},
    h('h3', {class: 'error-text'}, 'Error'),
    fields([['Type', type ?? '–'], ['Message', text ?? '–']]),
    stack ? h('pre', {class: 'stack'}, stack) : null);
}

// Datadog sends a link's W3C trace flags with bit 31 set, meaning "flags
// present"; what the user set is the low 8 bits (01: sampled).
function w3cFlags(flags) {
  const w3c = Number(flags) & 0xff;
  return `${w3c.toString(16).padStart(2, '0')}${w3c & 1 ? ' (sampled)' : ''}`;
}

function linksSection(links, model, onSelectSpan) {
  if (!links || !links.length) return null;
  return [h('h3', {}, `Span links (${links.length})`), h('ul', {class: 'links'}, links.map((link) => {
    const inThisTrace = link.trace_id === model.traceId && model.byId.get(link.span_id);
    const target = inThisTrace
      ? h('button', {type: 'button', class: 'link-button', onclick: () => onSelectSpan(inThisTrace)}, 'show span')
      : h('a', {href: routeWithQuery(route('trace', link.trace_id), {span: link.span_id})}, 'open trace');
    const attributes = link.attributes || {};
    return h('li', {},
      fields([['Trace ID', idValue(link.trace_id)], ['Span ID', idValue(link.span_id)],
        ...(link.tracestate ? [['Tracestate', link.tracestate]] : []),
        ...(link.flags ? [['Flags', w3cFlags(link.flags)]] : [])]),
      target,
      Object.keys(attributes).length ? keyValueTable(attributes, 'link-attributes') : null);
  }))];
}

function eventsSection(events) {
  if (!events || !events.length) return null;
  return [h('h3', {}, `Span events (${events.length})`), h('ul', {class: 'events'}, events.map((event) => h('li', {},
    h('strong', {}, event.name), ' ',
    h('span', {class: 'muted'}, event.time_unix_nano ? formatDateTime(Number(event.time_unix_nano) / 1000) : ''),
    Object.keys(event.attributes || {}).length ? keyValueTable(event.attributes, 'event-attributes') : null)))];
}

function keyValueTable(object, kind) {
  const keys = Object.keys(object || {}).sort();
  if (!keys.length) return h('p', {class: 'muted'}, 'none');
  return h('table', {class: `tags ${kind}`}, h('tbody', {}, keys.map((key) => {
    const value = object[key];
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return h('tr', {}, h('td', {}, key), h('td', {}, text));
  })));
}
