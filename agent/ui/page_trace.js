// Trace view: the timeline (flame graph by default, or waterfall) with its
// minimap, a legend of services, and the detail of the selected span.
// The URL keeps the view and the selected span: #/trace/<id>?view=waterfall&span=<span id>.
// The critical path is drawn along the bars; "Compare" opens #/compare.

import {h, clipped, route, routeWithQuery, message} from './dom.js';
import {api, ApiError} from './api.js';
import {formatDuration, formatDateTime, formatCount, shortId} from './format.js';
import {buildTraceModel} from './trace_model.js';
import {TraceTimeline} from './trace_canvas.js';
import {renderSpanDetail} from './span_detail.js';
import {colourChip} from './colour.js';
import {replaceQuery} from './url.js';

const LEGEND_SIZE = 12;

export async function render(view, {params: [traceId], query, signal}) {
  document.title = `Trace ${shortId(traceId)} · ctrace`;
  view.append(message('', 'Loading trace…'));
  let answer;
  try {
    answer = await api.trace(traceId, signal);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    view.replaceChildren(h('h1', {}, 'Trace not found'),
      h('p', {}, 'No trace with the ID ', h('code', {}, traceId), ' is stored in this agent. ', h('a', {href: '#/search'}, 'Search traces')));
    return;
  }
  const model = buildTraceModel(answer);
  const root = model.order[0];
  let timeline = null;
  const state = {mode: query.get('view') === 'waterfall' ? 'waterfall' : 'flame'};

  const detail = h('aside', {class: 'detail', hidden: true, 'aria-labelledby': 'span-detail-title', tabindex: -1});
  const main = h('div', {class: 'trace-main'});
  const modeButtons = ['flame', 'waterfall'].map((mode) => h('button', {type: 'button', 'data-mode': mode,
    'aria-pressed': String(mode === state.mode), onclick: () => setMode(mode)}, mode === 'flame' ? 'Flame graph' : 'Waterfall'));
  view.replaceChildren(
    breadcrumbs(root, model),
    h('div', {class: 'page-head'},
      h('div', {}, h('h1', {}, root ? clipped('span', root.resource || root.name) : 'Empty trace'), summary(answer, model))),
    h('div', {class: 'trace-controls'},
      h('div', {class: 'group', role: 'group', 'aria-label': 'Trace view'}, modeButtons),
      h('div', {class: 'group', role: 'group', 'aria-label': 'Zoom'},
        h('button', {type: 'button', 'aria-label': 'Zoom in', onclick: () => timeline?.zoomBy(0.5)}, '+'),
        h('button', {type: 'button', 'aria-label': 'Zoom out', onclick: () => timeline?.zoomBy(2)}, '−'),
        h('button', {type: 'button', onclick: () => timeline?.resetZoom()}, 'Reset zoom')),
      compareForm(model.traceId || traceId),
      h('span', {class: 'hint critical-hint', title: 'The stretches of the spans that the trace waited on (Jaeger\'s critical path)'},
        h('span', {class: 'critical-key'}), 'critical path'),
      h('span', {class: 'hint'}, 'Drag to pan · Ctrl+wheel or +/− to zoom · double-click a span to zoom to it · arrows walk the tree · ▸ folds a subtree (waterfall)')),
    legend(model),
    h('div', {class: 'trace-layout'}, main, detail));

  if (!model.spans.length) {
    main.append(message('', 'This trace has no spans.'));
    return;
  }

  const showDetail = (span) => {
    if (!span) { closeDetail(); return; }
    renderSpanDetail(detail, span, model, {onSelectSpan: (target) => timeline.select(target), onClose: closeDetail});
    saveState({span: span.id});
  };
  const closeDetail = () => {
    detail.hidden = true;
    saveState({span: null});
    timeline.canvas.focus();
  };
  timeline = new TraceTimeline(main, model, {mode: state.mode, onSelect: showDetail});
  function setMode(mode) {
    state.mode = mode;
    timeline.setMode(mode);
    for (const button of modeButtons) button.setAttribute('aria-pressed', String(button.dataset.mode === mode));
    saveState({view: mode === 'flame' ? null : mode});
  }
  function saveState(changes) {
    const next = new URLSearchParams(location.hash.split('?')[1] || '');
    for (const [key, value] of Object.entries(changes)) if (value === null) next.delete(key); else next.set(key, value);
    replaceQuery(next);
  }

  const wanted = query.get('span') && model.byId.get(query.get('span'));
  if (wanted) timeline.select(wanted);

  const onKey = (event) => {
    if (event.key === 'Escape' && !detail.hidden) { event.preventDefault(); closeDetail(); }
  };
  document.addEventListener('keydown', onKey);
  view.dataset.ready = 'trace';
  return () => {
    document.removeEventListener('keydown', onKey);
    timeline.destroy();
  };
}

// "Compare with …": another trace's ID opens #/compare/<this>/<that>.
function compareForm(traceId) {
  const input = h('input', {type: 'text', name: 'other', placeholder: 'Compare with trace ID',
    'aria-label': 'Trace ID to compare with', spellcheck: 'false', autocomplete: 'off'});
  return h('form', {class: 'compare-form group', onsubmit: (event) => {
    event.preventDefault();
    const other = input.value.trim().toLowerCase();
    if (other) location.hash = route('compare', traceId, other);
  }}, input, h('button', {type: 'submit'}, 'Compare'));
}

function breadcrumbs(root, model) {
  const parts = [h('a', {href: '#/services'}, 'Services')];
  if (root) {
    parts.push(h('span', {class: 'sep'}, '›'), clipped('a', root.service, {href: route('service', root.service)}),
      h('span', {class: 'sep'}, '›'), clipped('a', root.resource, {href: routeWithQuery('#/search', {service: root.service, resource: root.resource})}));
  }
  parts.push(h('span', {class: 'sep'}, '›'), h('span', {class: 'mono', title: model.traceId}, `Trace ${shortId(model.traceId)}`));
  return h('nav', {class: 'breadcrumbs', 'aria-label': 'Breadcrumbs'}, parts);
}

function summary(answer, model) {
  const item = (label, value) => h('span', {}, `${label} `, h('strong', {}, value));
  return h('div', {class: 'trace-summary'},
    item('Trace', h('code', {class: 'trace-id'}, model.traceId)),
    item('Started', formatDateTime(answer.start_us)),
    item('Duration', formatDuration(answer.duration_ns ?? model.end - model.begin)),
    h('span', {class: 'span-count'}, h('strong', {}, formatCount(model.spans.length)), model.spans.length === 1 ? ' span' : ' spans'),
    item('Services', String(model.services.length)),
    model.errors ? h('span', {class: 'error-text'}, `${model.errors} error${model.errors === 1 ? '' : 's'}`) : null);
}

function legend(model) {
  const shown = model.services.slice(0, LEGEND_SIZE);
  const rest = model.services.length - shown.length;
  return h('div', {class: 'legend-list', 'aria-label': 'Services in this trace'},
    shown.map(([service, count]) => h('span', {title: `${service}: ${count} spans`}, colourChip(service), clipped('span', service), h('span', {class: 'muted'}, `\u00a0${count}`))),
    rest > 0 ? h('span', {class: 'muted'}, `+${rest} more`) : null);
}
