// Services: every service with its rate, error rate and latency over the
// chosen time range, and small charts of requests and latency over time.

import {h, clipped, route, message} from './dom.js';
import {api} from './api.js';
import {formatDuration, formatPercent, formatRate, formatCount} from './format.js';
import {colourChip} from './colour.js';
import {requestsSparkline, latencySparkline} from './charts.js';
import {sortableTable, installRowNavigation} from './table.js';
import {resolveRange, rangeSelect, apiRange} from './time_range.js';
import {replaceQuery} from './url.js';

export async function render(view, {query, signal}) {
  document.title = 'Services · ctrace';
  const range = resolveRange(query);
  const navigate = (changes) => {
    const next = new URLSearchParams(query);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) next.delete(key); else next.set(key, value);
    }
    location.hash = `#/services?${next}`;
  };
  const filter = h('input', {type: 'search', placeholder: 'Filter services  ( / )', 'aria-label': 'Filter services',
    'data-search': true, value: query.get('filter') || '', autocomplete: 'off'});
  const status = h('span', {class: 'muted', role: 'status'}, 'Loading…');
  const content = h('div', {}, message('', 'Loading services…'));
  view.append(
    h('div', {class: 'page-head'}, h('div', {}, h('h1', {}, 'Services'), status),
      h('div', {class: 'toolbar'}, filter, rangeSelect(range, (key) => navigate({range: key, start: null, end: null})))),
    content);
  installRowNavigation(content);

  const answer = await api.services(apiRange(range), signal);
  const services = answer.services || [];
  const table = servicesTable(services, answer, query);
  content.replaceChildren(table);

  const applyFilter = () => {
    const text = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const row of table.tBodies[0].rows) {
      const name = row.dataset.service;
      if (name === undefined) continue;
      row.hidden = Boolean(text) && !name.toLowerCase().includes(text);
      if (!row.hidden) shown++;
    }
    status.textContent = text ? `${shown} of ${services.length} services` : `${services.length} services`;
  };
  filter.addEventListener('input', () => {
    applyFilter();
    const next = new URLSearchParams(location.hash.split('?')[1] || '');
    if (filter.value) next.set('filter', filter.value); else next.delete('filter');
    replaceQuery(next);
  });
  applyFilter();
  view.dataset.ready = 'services';
}

function servicesTable(services, answer, query) {
  const {start, end, step} = answer;
  const columns = [
    {key: 'service', label: 'Service', class: 'name', value: (row) => row.service,
      cell: (row) => h('span', {class: 'name-cell'}, colourChip(row.service),
        clipped('a', row.service, {href: route('service', row.service), tabindex: -1}))},
    {key: 'rps', label: 'Requests', class: 'num w-num', value: (row) => row.rps,
      cell: (row) => h('span', {title: `${formatCount(row.hits)} requests`}, formatRate(row.rps))},
    {key: 'error_rate', label: 'Errors', class: 'num w-num', value: (row) => row.error_rate,
      cell: (row) => h('span', {class: row.errors ? 'error-text' : '', title: `${formatCount(row.errors)} errors`}, formatPercent(row.error_rate))},
    {key: 'p50_ns', label: 'p50', class: 'num w-num', value: (row) => row.p50_ns, cell: (row) => formatDuration(row.p50_ns)},
    {key: 'p95_ns', label: 'p95', class: 'num w-num', value: (row) => row.p95_ns, cell: (row) => formatDuration(row.p95_ns)},
    {key: 'p99_ns', label: 'p99', class: 'num w-num', value: (row) => row.p99_ns, cell: (row) => formatDuration(row.p99_ns)},
    {key: 'requests_chart', label: 'Requests over time', class: 'chart-cell',
      cell: (row) => requestsSparkline(row, start, end, step)},
    {key: 'latency_chart', label: 'p95 latency', class: 'chart-cell',
      cell: (row) => latencySparkline(row, start, end, step)},
  ];
  return sortableTable({
    columns, rows: services,
    rowHref: (row) => route('service', row.service),
    rowData: (row) => ({service: row.service}),
    sortKey: query.get('sort') || 'rps',
    sortDirection: query.get('dir') === 'asc' ? 'asc' : 'desc',
    onSort: (key, direction) => {
      const next = new URLSearchParams(location.hash.split('?')[1] || '');
      next.set('sort', key);
      next.set('dir', direction);
      replaceQuery(next);
    },
    emptyText: 'No service has sent traces in this time range.',
  });
}
