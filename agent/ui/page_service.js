// Service: its figures, charts over time, latency distribution, resources,
// and its slowest and erroring traces.

import {h, clipped, route, routeWithQuery, message} from './dom.js';
import {api} from './api.js';
import {formatDuration, formatPercent, formatRate, formatCount} from './format.js';
import {timeChart, latencyHistogram, seriesPoints, requestsSparkline, latencySparkline} from './charts.js';
import {sortableTable, installRowNavigation} from './table.js';
import {resolveRange, rangeSelect, rangeQuery, apiRange} from './time_range.js';
import {replaceQuery} from './url.js';
import {colourChip} from './colour.js';
import {traceTable} from './trace_list.js';

export async function render(view, {params: [service], query, signal}) {
  document.title = `${service} · ctrace`;
  const range = resolveRange(query);
  const searchLink = (extra) => routeWithQuery('#/search', {service, ...rangeQuery(range), ...extra});
  const figures = h('div', {class: 'figures'});
  const charts = h('div', {class: 'charts'});
  const resources = h('div', {}, message('', 'Loading resources…'));
  const slowest = h('div', {}, message('', 'Loading…'));
  const erroring = h('div', {}, message('', 'Loading…'));
  view.append(
    h('nav', {class: 'breadcrumbs', 'aria-label': 'Breadcrumbs'},
      h('a', {href: '#/services'}, 'Services'), h('span', {class: 'sep'}, '›'), clipped('span', service)),
    h('div', {class: 'page-head'},
      h('div', {}, h('h1', {class: 'name-cell'}, colourChip(service), clipped('span', service))),
      h('div', {class: 'toolbar'},
        h('a', {href: searchLink({})}, 'Search its traces'),
        rangeSelect(range, (key) => { location.hash = routeWithQuery(route('service', service), {range: key}); }))),
    figures, charts,
    h('h2', {}, 'Resources'), resources,
    h('div', {class: 'charts'},
      h('section', {}, h('h2', {}, 'Slowest traces ', h('a', {href: searchLink({}), class: 'hint'}, 'search all')), slowest),
      h('section', {}, h('h2', {}, 'Erroring traces ', h('a', {href: searchLink({error: 1}), class: 'hint'}, 'search all')), erroring)));
  installRowNavigation(view);

  const timeWindow = apiRange(range);
  const [servicesAnswer, resourcesAnswer, latency, errorTraces] = await Promise.all([
    api.services(timeWindow, signal),
    api.resources(service, timeWindow, signal),
    api.latency({service, ...timeWindow}, signal),
    api.traces({service, error: 1, limit: 10, ...timeWindow}, signal),
  ]);
  const summary = (servicesAnswer.services || []).find((candidate) => candidate.service === service);
  if (!summary) {
    figures.replaceChildren(message('', 'This service sent no traces in this time range.'));
  } else {
    showFigures(figures, summary);
    showCharts(charts, summary, servicesAnswer, latency);
  }
  resources.replaceChildren(resourcesTable(service, resourcesAnswer, range, query));
  erroring.replaceChildren(traceTable(serviceRows(errorTraces), {compact: true, emptyText: 'No erroring trace in this time range.'}));

  slowest.replaceChildren(traceTable(await slowestTraces(service, summary, timeWindow, signal),
    {compact: true, emptyText: 'No trace in this time range.'}));
  view.dataset.ready = 'service';
}

// A search by service matches this service's spans anywhere in a trace,
// also inside another service's: each row shows its matching span (the
// service's longest in that trace), and links to the whole trace.
function serviceRows(answer) {
  return (answer.traces || []).map((trace) => (trace.match ? {...trace, resource: trace.match.resource,
    name: trace.match.name, duration_ns: trace.match.duration_ns, error: trace.match.error} : trace));
}

// The API lists traces newest first and cannot sort by duration: ask for
// those above half the service's p95 (the p95 is an estimate from a
// histogram, so not the bound itself) and sort them here; when that leaves
// too few, the newest ones fill in.
async function slowestTraces(service, summary, timeWindow, signal) {
  const wanted = 10;
  const byDuration = (answer) => serviceRows(answer).sort((a, b) => b.duration_ns - a.duration_ns);
  let traces = [];
  if (summary && summary.p95_ns > 0) {
    traces = byDuration(await api.traces({service, min_duration_ns: Math.floor(summary.p95_ns / 2), limit: 500, ...timeWindow}, signal));
  }
  if (traces.length < wanted) {
    traces = byDuration(await api.traces({service, limit: 500, ...timeWindow}, signal));
  }
  return traces.slice(0, wanted);
}

function showFigures(figures, summary) {
  const figure = (label, value, title) => h('div', {class: 'figure', title}, h('div', {class: 'value'}, value), h('div', {class: 'label'}, label));
  figures.replaceChildren(
    figure('Requests', formatRate(summary.rps), `${formatCount(summary.hits)} requests`),
    figure('Error rate', formatPercent(summary.error_rate), `${formatCount(summary.errors)} errors`),
    figure('p50', formatDuration(summary.p50_ns)),
    figure('p95', formatDuration(summary.p95_ns)),
    figure('p99', formatDuration(summary.p99_ns)));
}

function showCharts(charts, summary, {start, end, step}, latency) {
  const titles = ['Hits and errors', 'Latency', `Latency distribution (${formatCount(latency.count)} requests)`];
  const boxes = titles.map((title) => h('div', {class: 'chart-box'}, h('h3', {}, title)));
  charts.replaceChildren(...boxes);
  // Drawn at the width they get, so text keeps its size on any screen.
  const [hitsBox, latencyBox, distributionBox] = boxes;
  const width = (box) => Math.max(280, box.clientWidth - 20);
  hitsBox.append(timeChart({start, end, step, width: width(hitsBox), label: 'Hits and errors over time',
    yFormat: (value) => formatCount(Math.round(value)),
    layers: [{kind: 'bar', label: 'hits', points: seriesPoints(summary.series, 'hits')},
      {kind: 'bar', class: 'errors', label: 'errors', points: seriesPoints(summary.series, 'errors')}]}));
  latencyBox.append(timeChart({start, end, step, width: width(latencyBox), label: 'Latency over time', yFormat: formatDuration,
    layers: ['p50', 'p95', 'p99'].map((name) => ({kind: 'line', class: name, label: name, points: seriesPoints(summary.series, `${name}_ns`)}))}));
  distributionBox.append(latencyHistogram(latency, {width: width(distributionBox)}));
}

function resourcesTable(service, answer, range, query) {
  const {start, end, step} = answer;
  const columns = [
    {key: 'resource', label: 'Resource', class: 'name', value: (row) => row.resource,
      cell: (row) => clipped('a', row.resource, {href: resourceHref(service, row, range), tabindex: -1})},
    {key: 'name', label: 'Operation', class: 'name', value: (row) => row.name || '',
      cell: (row) => clipped('span', row.name || '', {class: 'muted'})},
    {key: 'rps', label: 'Requests', class: 'num w-num', value: (row) => row.rps,
      cell: (row) => h('span', {title: `${formatCount(row.hits)} requests`}, formatRate(row.rps))},
    {key: 'error_rate', label: 'Errors', class: 'num w-num', value: (row) => row.error_rate,
      cell: (row) => h('span', {class: row.errors ? 'error-text' : '', title: `${formatCount(row.errors)} errors`}, formatPercent(row.error_rate))},
    {key: 'p50_ns', label: 'p50', class: 'num w-num', value: (row) => row.p50_ns, cell: (row) => formatDuration(row.p50_ns)},
    {key: 'p95_ns', label: 'p95', class: 'num w-num', value: (row) => row.p95_ns, cell: (row) => formatDuration(row.p95_ns)},
    {key: 'p99_ns', label: 'p99', class: 'num w-num', value: (row) => row.p99_ns, cell: (row) => formatDuration(row.p99_ns)},
    {key: 'requests_chart', label: 'Requests', class: 'chart-cell', cell: (row) => requestsSparkline(row, start, end, step)},
    {key: 'latency_chart', label: 'p95 latency', class: 'chart-cell', cell: (row) => latencySparkline(row, start, end, step)},
  ];
  return sortableTable({
    columns, rows: answer.resources || [],
    rowHref: (row) => resourceHref(service, row, range),
    sortKey: query.get('sort') || 'rps',
    sortDirection: query.get('dir') === 'asc' ? 'asc' : 'desc',
    onSort: (key, direction) => replaceQuery({...Object.fromEntries(query), sort: key, dir: direction}),
    emptyText: 'No resource in this time range.',
  });
}

function resourceHref(service, row, range) {
  return routeWithQuery('#/search', {service, resource: row.resource, ...rangeQuery(range)});
}
