// Small SVG charts: time series (bars and lines), a latency histogram and
// the trace scatter plot. Each series is drawn as one <path>, so a page of
// 200 services with two charts each stays a few hundred elements. Labels and
// tooltips are set with textContent (see dom.js).

import {h, s} from './dom.js';
import {formatClock, formatDuration, formatTime, formatDateTime, shortId} from './format.js';

const DEFAULT_WIDTH = 600;
const MARGIN = {left: 56, right: 10, top: 10, bottom: 22};

// One decimal is plenty for SVG coordinates and keeps paths short.
function round(value) {
  return Math.round(value * 10) / 10;
}

function linear(domainLow, domainHigh, rangeLow, rangeHigh) {
  const span = domainHigh - domainLow || 1;
  return (value) => rangeLow + ((value - domainLow) / span) * (rangeHigh - rangeLow);
}

function logScale(domainLow, domainHigh, rangeLow, rangeHigh) {
  const low = Math.log10(Math.max(domainLow, 1));
  const scale = linear(low, Math.max(Math.log10(Math.max(domainHigh, 1)), low + 1), rangeLow, rangeHigh);
  return (value) => scale(Math.log10(Math.max(value, 1)));
}

function maxOf(layers) {
  let max = 0;
  for (const layer of layers) for (const [, value] of layer.points) if (value > max) max = value;
  return max;
}

// One path for all bars of a layer, or one polyline path for a line layer;
// a line is broken where a bucket is missing so gaps stay visible.
function layerPath(layer, x, y, barWidth, step) {
  const parts = [];
  if (layer.kind === 'bar') {
    const base = y(0);
    for (const [t, value] of layer.points) {
      if (!value) continue;
      const top = y(value);
      parts.push(`M${round(x(t))} ${round(base)}V${round(top)}h${round(barWidth)}V${round(base)}Z`);
    }
  } else {
    let previous = null;
    for (const [t, value] of layer.points) {
      if (value === null || value === undefined) { previous = null; continue; }
      const command = previous !== null && t - previous <= step * 1.5 ? 'L' : 'M';
      // A segment starts with a zero-length stroke: with round caps a lone
      // point still shows as a dot.
      const point = `${round(x(t) + barWidth / 2)} ${round(y(value))}`;
      parts.push(command === 'M' ? `M${point}h0.01` : `L${point}`);
      previous = t;
    }
  }
  return parts.join('');
}

function layerElement(layer, x, y, barWidth, step) {
  const d = layerPath(layer, x, y, barWidth, step);
  return layer.kind === 'bar'
    ? s('path', {d, class: `bar ${layer.class || ''}`})
    : s('path', {d, class: `line ${layer.class || ''}`, fill: 'none'});
}

// A chart small enough for a table cell; `title` is its tooltip.
export function sparkline({start, end, step, layers, title, width = 120, height = 28}) {
  const x = linear(start, end, 0, width);
  const y = linear(0, maxOf(layers) || 1, height - 1, 2);
  const barWidth = Math.max((step / (end - start || 1)) * width - 0.5, 0.8);
  return s('svg', {class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title},
    s('title', {}, title),
    layers.map((layer) => layerElement(layer, x, y, barWidth, step)));
}

// A full-width time chart with a y axis, time labels and a legend.
export function timeChart({start, end, step, layers, yFormat = String, height = 160, label, width: CHART_WIDTH = DEFAULT_WIDTH}) {
  const x = linear(start, end, MARGIN.left, CHART_WIDTH - MARGIN.right);
  const max = maxOf(layers) || 1;
  const y = linear(0, max, height - MARGIN.bottom, MARGIN.top);
  const barWidth = Math.max((step / (end - start || 1)) * (CHART_WIDTH - MARGIN.left - MARGIN.right) - 1, 1);
  const grid = [0, 0.5, 1].map((fraction) => {
    const value = max * fraction;
    return [
      s('line', {class: 'grid', x1: MARGIN.left, x2: CHART_WIDTH - MARGIN.right, y1: y(value), y2: y(value)}),
      s('text', {class: 'axis', x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end'}, yFormat(value)),
    ];
  });
  const ticks = [start, (start + end) / 2, end].map((t, index) =>
    s('text', {class: 'axis', x: x(t), y: height - 6, 'text-anchor': ['start', 'middle', 'end'][index]}, formatClock(t)));
  const legend = layers.map((layer, index) =>
    s('text', {class: `legend ${layer.class || ''}`, x: CHART_WIDTH - MARGIN.right - index * 70, y: MARGIN.top + 2, 'text-anchor': 'end'}, layer.label));
  return s('svg', {class: 'chart', viewBox: `0 0 ${CHART_WIDTH} ${height}`, role: 'img', 'aria-label': label},
    s('title', {}, label), grid, ticks,
    layers.map((layer) => layerElement(layer, x, y, barWidth, step)), legend);
}

// Latency distribution: log-spaced buckets on a log time axis, with the
// p50/p95/p99 marks.
export function latencyHistogram({buckets, p50_ns, p95_ns, p99_ns}, {height = 160, width: CHART_WIDTH = DEFAULT_WIDTH} = {}) {
  const nonEmpty = (buckets || []).filter((bucket) => bucket.count > 0 && Number.isFinite(bucket.upper_ns));
  if (!nonEmpty.length) return h('p', {class: 'message'}, 'No request in this time range.');
  const low = Math.max(Math.min(...nonEmpty.map((bucket) => bucket.lower_ns), p50_ns || Infinity), 1);
  const high = Math.max(...nonEmpty.map((bucket) => bucket.upper_ns), p99_ns || 0, low * 10);
  const x = logScale(low, high, MARGIN.left, CHART_WIDTH - MARGIN.right);
  const maxCount = Math.max(1, ...nonEmpty.map((bucket) => bucket.count));
  const y = linear(0, maxCount, height - MARGIN.bottom, MARGIN.top);
  const bars = nonEmpty.map((bucket) => {
    const left = x(Math.max(bucket.lower_ns, low));
    const width = Math.max(x(bucket.upper_ns) - left - 1, 1.5);
    return s('rect', {class: 'bar', x: left, y: y(bucket.count), width, height: y(0) - y(bucket.count)},
      s('title', {}, `${formatDuration(bucket.lower_ns)} – ${formatDuration(bucket.upper_ns)}: ${bucket.count}`));
  });
  const ticks = [];
  for (let power = Math.ceil(Math.log10(low)); power <= Math.log10(high) && ticks.length < 12; power++) {
    const value = 10 ** power;
    ticks.push(s('text', {class: 'axis', x: x(value), y: height - 6, 'text-anchor': 'middle'}, formatDuration(value)));
  }
  const marks = [['p50', p50_ns], ['p95', p95_ns], ['p99', p99_ns]].filter(([, value]) => value > 0).map(([name, value], index) => [
    s('line', {class: `mark ${name}`, x1: x(value), x2: x(value), y1: MARGIN.top, y2: height - MARGIN.bottom}),
    s('text', {class: `legend ${name}`, x: MARGIN.left + 8 + index * 105, y: MARGIN.top + 2}, `${name} ${formatDuration(value)}`),
  ]);
  return s('svg', {class: 'chart', viewBox: `0 0 ${CHART_WIDTH} ${height}`, role: 'img', 'aria-label': 'Latency distribution'},
    s('title', {}, 'Latency distribution'),
    s('text', {class: 'axis', x: MARGIN.left - 6, y: y(maxCount) + 4, 'text-anchor': 'end'}, String(maxCount)),
    s('line', {class: 'grid', x1: MARGIN.left, x2: CHART_WIDTH - MARGIN.right, y1: y(0), y2: y(0)}),
    bars, ticks, marks);
}

// Duration over time of search results; each point links to its trace.
// The duration axis is logarithmic when durations span two decades or more.
export function traceScatter({start, end, traces}, {height = 200, width: CHART_WIDTH = DEFAULT_WIDTH} = {}) {
  const durations = traces.map((trace) => trace.duration_ns);
  const low = Math.max(1, Math.min(...durations));
  const high = Math.max(1, ...durations);
  const useLog = high / low >= 100;
  const y = useLog
    ? logScale(low, high, height - MARGIN.bottom, MARGIN.top)
    : linear(0, high, height - MARGIN.bottom, MARGIN.top);
  const x = linear(start, end, MARGIN.left, CHART_WIDTH - MARGIN.right);
  const points = traces.map((trace) => s('a', {href: `#/trace/${encodeURIComponent(trace.trace_id)}`, class: 'point-link'},
    s('circle', {class: trace.error ? 'point error' : 'point', cx: x(trace.start_us / 1e6).toFixed(1), cy: y(trace.duration_ns).toFixed(1), r: 3.5},
      s('title', {}, `${trace.service} ${trace.resource}\n${formatDuration(trace.duration_ns)} at ${formatDateTime(trace.start_us)}\n${shortId(trace.trace_id)}`))));
  const yLabels = [useLog ? low : 0, high].map((value) =>
    s('text', {class: 'axis', x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end'}, formatDuration(value)));
  const xLabels = [start, end].map((t, index) =>
    s('text', {class: 'axis', x: x(t), y: height - 6, 'text-anchor': index ? 'end' : 'start'}, formatTime(t * 1e6).slice(0, 8)));
  return s('svg', {class: 'chart scatter', viewBox: `0 0 ${CHART_WIDTH} ${height}`, role: 'img', 'aria-label': 'Trace durations over time'},
    s('title', {}, 'Trace durations over time'),
    s('line', {class: 'grid', x1: MARGIN.left, x2: CHART_WIDTH - MARGIN.right, y1: height - MARGIN.bottom, y2: height - MARGIN.bottom}),
    yLabels, xLabels, points);
}

// Series of the API -> [[t, value]] pairs for a chart layer.
// A latency of a bucket without hits is a gap, not a zero.
export function seriesPoints(series, field) {
  const isLatency = field.endsWith('_ns');
  return (series || []).map((point) => [point.t, isLatency && !point.hits ? null : point[field]]);
}

// The two sparklines of a row of the services and service pages (a service
// or a resource with its per-minute series).
export function requestsSparkline(row, start, end, step) {
  return sparkline({start, end, step, title: `Requests and errors of ${row.service || row.resource} over time`,
    layers: [{kind: 'bar', points: seriesPoints(row.series, 'hits')},
      {kind: 'bar', class: 'errors', points: seriesPoints(row.series, 'errors')}]});
}

export function latencySparkline(row, start, end, step) {
  return sparkline({start, end, step, title: `p50 and p95 latency of ${row.service || row.resource} over time`,
    layers: [{kind: 'line', class: 'p50', points: seriesPoints(row.series, 'p50_ns')},
      {kind: 'line', class: 'p95', points: seriesPoints(row.series, 'p95_ns')}]});
}
