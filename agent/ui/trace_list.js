// The list of traces shown by search, the service page and live tail.

import {h, clipped, route} from './dom.js';
import {formatDuration, formatDateTime, formatTime, formatCount} from './format.js';
import {sortableTable} from './table.js';
import {colourChip} from './colour.js';

const COLUMNS = [
  {key: 'start_us', label: 'Time', class: 'w-time', value: (trace) => trace.start_us,
    cell: (trace) => h('span', {title: formatDateTime(trace.start_us)}, formatTime(trace.start_us))},
  {key: 'service', label: 'Service', class: 'name', value: (trace) => trace.service,
    cell: (trace) => h('span', {class: 'name-cell'}, colourChip(trace.service), clipped('span', trace.service))},
  {key: 'resource', label: 'Resource', class: 'name', value: (trace) => trace.resource,
    cell: (trace) => clipped('a', trace.resource, {href: route('trace', trace.trace_id), tabindex: -1})},
  {key: 'name', label: 'Operation', class: 'name', value: (trace) => trace.name,
    cell: (trace) => clipped('span', trace.name, {class: 'muted'})},
  {key: 'duration_ns', label: 'Duration', class: 'num w-num', value: (trace) => trace.duration_ns,
    cell: (trace) => formatDuration(trace.duration_ns)},
  {key: 'span_count', label: 'Spans', class: 'num w-small', value: (trace) => trace.span_count,
    cell: (trace) => formatCount(trace.span_count)},
  {key: 'error', label: 'Status', class: 'w-small', value: (trace) => trace.error ? 1 : 0,
    cell: (trace) => trace.error ? h('span', {class: 'badge'}, 'error') : h('span', {class: 'muted'}, 'ok')},
];

// A span search's rows name the span that matched (any span of the trace,
// not necessarily its root): its service, operation and duration.
const MATCH_COLUMN = {key: 'match', label: 'Matching span', class: 'name',
  value: (trace) => (trace.match ? trace.match.duration_ns : -1),
  cell: (trace) => (trace.match
    ? clipped('span', `${trace.match.service} · ${trace.match.name} · ${formatDuration(trace.match.duration_ns)}`)
    : h('span', {class: 'muted'}, '–'))};

// compact: without the service and operation columns, for half-width lists
// of one service's traces. With a span search's matches, a column shows them.
export function traceTable(traces, {sortKey = null, sortDirection = 'desc', emptyText = 'No trace matches.', compact = false} = {}) {
  const withMatch = traces.some((trace) => trace.match)
    ? [...COLUMNS.slice(0, 4), MATCH_COLUMN, ...COLUMNS.slice(4)] : COLUMNS;
  const columns = compact ? COLUMNS.filter((column) => column.key !== 'service' && column.key !== 'name') : withMatch;
  const table = sortableTable({
    columns, rows: traces, sortKey, sortDirection, emptyText,
    rowHref: (trace) => route('trace', trace.trace_id),
    rowData: (trace) => ({traceId: trace.trace_id, error: trace.error ? '1' : '0'}),
  });
  table.classList.add('traces');
  return table;
}
