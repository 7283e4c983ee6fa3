// Trace comparison: #/compare/<trace a>/<trace b>. A table of every
// service/operation path of either trace (trace_compare.js) with each
// side's count and duration; paths only in one trace, and counts or
// durations that differ, are highlighted.

import {h, clipped, route, message} from './dom.js';
import {api, ApiError} from './api.js';
import {formatDuration, shortId} from './format.js';
import {buildTraceModel} from './trace_model.js';
import {compareTraces} from './trace_compare.js';

const KIND_LABEL = {same: '', added: 'only in B', removed: 'only in A', changed: 'differs'};

export async function render(view, {params: [idA, idB], signal}) {
  document.title = `Compare ${shortId(idA)} and ${shortId(idB)} · ctrace`;
  view.append(message('', 'Loading traces…'));
  const answers = await Promise.all([idA, idB].map((id) => api.trace(id, signal).catch((error) => {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  })));
  const missing = [idA, idB].filter((_, index) => !answers[index]);
  if (missing.length) {
    view.replaceChildren(h('h1', {}, 'Trace not found'),
      h('p', {}, 'No trace with the ID ', h('code', {}, missing[0]), ' is stored in this agent.'));
    return;
  }
  const [a, b] = answers.map(buildTraceModel);
  const rows = compareTraces(a, b);
  const differing = rows.filter((row) => row.kind !== 'same').length;
  view.replaceChildren(
    h('nav', {class: 'breadcrumbs', 'aria-label': 'Breadcrumbs'}, h('a', {href: '#/search'}, 'Traces'),
      h('span', {class: 'sep'}, '›'), h('span', {}, 'Compare')),
    h('div', {class: 'page-head'}, h('div', {},
      h('h1', {}, 'Compare traces'),
      h('div', {class: 'trace-summary'},
        side('A', idA, a), side('B', idB, b),
        h('span', {class: 'compare-differences'}, h('strong', {}, String(differing)),
          differing === 1 ? ' path differs' : ' paths differ')))),
    h('table', {class: 'compare'},
      h('thead', {}, h('tr', {}, ['service / operation', 'A spans', 'B spans', 'A duration', 'B duration', 'change', '']
        .map((label) => h('th', {scope: 'col'}, label)))),
      h('tbody', {}, rows.map((row) => compareRow(row, idA, idB)))));
  view.dataset.ready = 'compare';
}

function side(label, id, model) {
  return h('span', {}, `${label} `, h('a', {href: route('trace', id), class: 'mono'}, shortId(id)),
    ` ${formatDuration(model.end - model.begin)}, ${model.spans.length} spans`);
}

function compareRow(row, idA, idB) {
  const [durationA, durationB] = row.duration;
  const change = row.count[0] && row.count[1] && durationA !== durationB
    ? `${durationB >= durationA ? '+' : '−'}${formatDuration(Math.abs(durationB - durationA))}` : '';
  const link = (index, id) => row.spans[index]
    ? h('a', {href: `${route('trace', id)}?span=${encodeURIComponent(row.spans[index].id)}`}, row.count[index])
    : '0';
  const name = h('td', {}, clipped('span', `${row.service} ${row.name}`));
  // through the CSSOM: the page's CSP refuses style attributes
  name.style.paddingLeft = `${8 + Math.min(row.depth, 24) * 14}px`;
  return h('tr', {'data-kind': row.kind}, name,
    h('td', {class: 'num'}, link(0, idA)),
    h('td', {class: 'num'}, link(1, idB)),
    h('td', {class: 'num'}, row.count[0] ? formatDuration(durationA) : ''),
    h('td', {class: 'num'}, row.count[1] ? formatDuration(durationB) : ''),
    h('td', {class: 'num'}, change),
    h('td', {class: 'muted'}, KIND_LABEL[row.kind]));
}
