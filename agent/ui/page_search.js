// Trace search. The form's state is the URL's query (#/search?service=web&
// tag=http.status_code:500&min=10ms&error=1&range=1h), so a search can be
// shared; results show as a scatter plot of duration over time and as a
// list, with "Load more" following the API's next_cursor.

import {h, message, routeWithQuery} from './dom.js';
import {api} from './api.js';
import {formatCount, parseDuration} from './format.js';
import {traceScatter} from './charts.js';
import {installRowNavigation} from './table.js';
import {resolveRange, RANGES, rangeQuery, apiRange} from './time_range.js';
import {traceTable} from './trace_list.js';

const PAGE_SIZE = 100;

export async function render(view, {query, signal}) {
  document.title = 'Trace search · ctrace';
  const range = resolveRange(query);
  const form = searchForm(query, range, signal);
  const summary = h('p', {class: 'muted', role: 'status'}, 'Searching…');
  const scatter = h('div', {class: 'chart-box'});
  const list = h('div');
  const more = h('div', {class: 'toolbar'});
  view.append(h('h1', {}, 'Traces'), form, summary, scatter, h('h2', {}, 'Results'), list, more);
  installRowNavigation(list);

  const {apiQuery, problem} = searchApiQuery(query, range);
  if (problem) {
    summary.replaceChildren(message('error', problem));
    return;
  }
  const traces = [];
  const loadPage = async (cursor) => {
    const answer = await api.traces({...apiQuery, limit: PAGE_SIZE, cursor}, signal);
    traces.push(...(answer.traces || []));
    summary.textContent = `${formatCount(traces.length)} trace${traces.length === 1 ? '' : 's'}${answer.next_cursor ? ' so far' : ''}`;
    scatter.replaceChildren(traces.length ? traceScatter({...timeExtent(traces), traces}, {width: Math.max(300, scatter.clientWidth - 20)})
      : message('', 'No trace matches this search.'));
    list.replaceChildren(traceTable(traces, {emptyText: 'No trace matches this search.'}));
    more.replaceChildren(answer.next_cursor
      ? h('button', {type: 'button', class: 'load-more', onclick: (event) => { event.target.disabled = true; loadPage(answer.next_cursor); }}, `Load ${PAGE_SIZE} more`)
      : '');
    view.dataset.ready = 'search';
  };
  await loadPage(undefined);
}

// The scatter plot spans the results' times (a page of the newest traces
// may cover a small part of the searched range).
function timeExtent(traces) {
  let start = Infinity;
  let end = -Infinity;
  for (const trace of traces) {
    start = Math.min(start, trace.start_us / 1e6);
    end = Math.max(end, trace.start_us / 1e6);
  }
  const padding = Math.max((end - start) * 0.03, 1);
  return {start: start - padding, end: end + padding};
}

// URL query -> {apiQuery} or {problem}; durations are written like "10ms" in the URL.
function searchApiQuery(query, range) {
  const result = {...apiRange(range)};
  for (const key of ['service', 'resource', 'name']) if (query.get(key)) result[key] = query.get(key);
  const tags = query.getAll('tag').filter((tag) => tag.includes(':'));
  if (tags.length) result.tag = tags;
  for (const [key, field] of [['min', 'min_duration_ns'], ['max', 'max_duration_ns']]) {
    if (!query.get(key)) continue;
    const ns = parseDuration(query.get(key));
    if (ns === null) return {problem: `"${query.get(key)}" is not a duration: write it like 250us, 10ms or 1.5s.`};
    result[field] = ns;
  }
  if (query.get('error') === '1') result.error = 1;
  return {apiQuery: result};
}

function searchForm(query, range, signal) {
  const serviceSelect = h('select', {name: 'service', 'data-search': true},
    h('option', {value: ''}, 'Any service'),
    query.get('service') ? h('option', {value: query.get('service'), selected: true}, query.get('service')) : null);
  const resourceList = h('datalist', {id: 'resource-options'});
  const nameList = h('datalist', {id: 'name-options'});
  const field = (label, input) => h('label', {}, label, input);
  const text = (name, placeholder, extra = {}) => h('input', {name, type: 'text', value: query.get(name) || '', placeholder, autocomplete: 'off', spellcheck: 'false', ...extra});
  const tagBox = h('div', {class: 'tags'}, h('span', {class: 'muted'}, 'Tags'));
  const addTag = (value = '') => {
    const input = h('input', {name: 'tag', type: 'text', value, placeholder: 'key:value', 'aria-label': 'Tag key:value', autocomplete: 'off', spellcheck: 'false'});
    tagBox.insertBefore(input, addButton);
    return input;
  };
  const addButton = h('button', {type: 'button', onclick: () => addTag().focus()}, '+ tag');
  tagBox.append(addButton);
  const tags = query.getAll('tag');
  for (const tag of tags.length ? tags : ['']) addTag(tag);

  const rangeChoice = h('select', {name: 'range'},
    range.key === 'custom' ? h('option', {value: 'custom', selected: true}, 'Custom window') : null,
    RANGES.map(([name, label]) => h('option', {value: name, selected: name === range.key}, label)));

  const form = h('form', {class: 'search', role: 'search', 'aria-label': 'Trace search'},
    field('Service', serviceSelect),
    field('Resource', text('resource', 'GET /users', {list: 'resource-options'})),
    field('Operation', text('name', 'flask.request', {list: 'name-options'})),
    field('Min duration', text('min', 'e.g. 10ms')),
    field('Max duration', text('max', 'e.g. 2s')),
    field('Time range', rangeChoice),
    h('label', {class: 'inline'}, h('input', {type: 'checkbox', name: 'error', value: '1', checked: query.get('error') === '1'}), 'Errors only'),
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, 'Search'),
      h('a', {href: '#/search', class: 'hint'}, 'clear')),
    tagBox, resourceList, nameList);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = {};
    for (const key of ['service', 'resource', 'name', 'min', 'max']) next[key] = String(data.get(key) || '').trim();
    next.tag = data.getAll('tag').map((tag) => String(tag).trim()).filter(Boolean);
    next.error = data.get('error') === '1';
    Object.assign(next, data.get('range') === 'custom' ? rangeQuery(range) : {range: data.get('range')});
    const target = routeWithQuery('#/search', next);
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
  });

  // Choices come from the agent; failing to get them only loses suggestions.
  const fillSuggestions = async (service) => {
    if (!service) { resourceList.replaceChildren(); nameList.replaceChildren(); return; }
    try {
      const operations = await api.operations(service, signal);
      resourceList.replaceChildren(...(operations.resources || []).map((value) => h('option', {value})));
      nameList.replaceChildren(...(operations.names || []).map((value) => h('option', {value})));
    } catch (error) {
      if (error.name !== 'AbortError') console.warn('operations', error);
    }
  };
  serviceSelect.addEventListener('change', () => fillSuggestions(serviceSelect.value));
  api.services(apiRange(range), signal).then((answer) => {
    const current = query.get('service');
    const names = (answer.services || []).map((service) => service.service).filter((name) => name !== current).sort();
    serviceSelect.append(...names.map((name) => h('option', {value: name}, name)));
  }).catch((error) => { if (error.name !== 'AbortError') console.warn('services', error); });
  fillSuggestions(query.get('service'));
  return form;
}
