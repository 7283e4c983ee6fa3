// Map: the services and the calls between them as a picture, callers on the
// left and callees to their right, each arrow labelled with its requests/s,
// error rate and p95 (GET /api/v1/servicemap). A node links to its
// service's page. The SVG is built with DOM calls only (dom.js), so a
// hostile service name is only ever text.

import {h, s, route, message} from './dom.js';
import {api} from './api.js';
import {formatDuration, formatPercent, formatRate, formatCount} from './format.js';
import {serviceColor} from './colour.js';
import {resolveRange, rangeSelect, apiRange} from './time_range.js';

const NODE_W = 170, NODE_H = 44, COLUMN = 400, ROW = 84, MARGIN = 24;

export async function render(view, {query, signal}) {
  document.title = 'Map · ctrace';
  const range = resolveRange(query);
  const navigate = (changes) => {
    const next = new URLSearchParams(query);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) next.delete(key); else next.set(key, value);
    }
    location.hash = `#/map?${next}`;
  };
  const env = h('input', {type: 'search', placeholder: 'env (all)', 'aria-label': 'Environment',
    value: query.get('env') || '', autocomplete: 'off'});
  env.addEventListener('change', () => navigate({env: env.value.trim() || null}));
  const status = h('span', {class: 'muted', role: 'status'}, 'Loading…');
  const content = h('div', {class: 'service-map'}, message('', 'Loading the service map…'));
  view.append(
    h('div', {class: 'page-head'}, h('div', {}, h('h1', {}, 'Service map'), status),
      h('div', {class: 'toolbar'}, env, rangeSelect(range, (key) => navigate({range: key, start: null, end: null})))),
    content);
  const answer = await api.servicemap({...apiRange(range), env: query.get('env') || null}, signal);
  const nodes = answer.nodes || [], edges = answer.edges || [];
  status.textContent = `${nodes.length} services, ${edges.length} dependencies` +
    (answer.unresolved ? `, ${formatCount(answer.unresolved)} calls from unknown parents` : '') +
    (answer.truncated ? ' (truncated)' : '');
  content.replaceChildren(nodes.length ? drawMap(nodes, edges) : message('', 'No services in this time range.'));
  view.dataset.ready = 'map';
}

// Column of each service: the longest chain of callers leading to it, so
// every edge that is not part of a cycle points to the right. Relaxing at
// most nodes.length times bounds the work when calls form a cycle.
function layers(nodes, edges) {
  const layer = new Map(nodes.map((node) => [node.service, 0]));
  for (let round = 0; round < nodes.length; round++) {
    let changed = false;
    for (const edge of edges) {
      const next = layer.get(edge.from) + 1;
      if (edge.from !== edge.to && next > layer.get(edge.to) && next < nodes.length) {
        layer.set(edge.to, next);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return layer;
}

function layout(nodes, edges) {
  const layer = layers(nodes, edges);
  const columns = [];
  for (const node of [...nodes].sort((a, b) => a.service.localeCompare(b.service))) {
    const column = layer.get(node.service);
    (columns[column] = columns[column] || []).push(node);
  }
  const position = new Map();
  columns.forEach((column, x) => (column || []).forEach((node, y) => {
    position.set(node.service, {x: MARGIN + x * COLUMN, y: MARGIN + y * ROW, node});
  }));
  const width = MARGIN * 2 + Math.max(0, columns.length - 1) * COLUMN + NODE_W;
  const height = MARGIN * 2 + Math.max(...columns.map((column) => (column || []).length)) * ROW;
  return {position, width, height};
}

function edgeLabel(edge) {
  return `${formatRate(edge.rps)} · ${formatPercent(edge.error_rate)} err · p95 ${formatDuration(edge.p95_ns)}`;
}

function drawEdge(edge, from, to) {
  const x1 = from.x + NODE_W, y1 = from.y + NODE_H / 2;
  const x2 = to.x, y2 = to.y + NODE_H / 2;
  // a call to the left (a cycle) loops below both nodes
  const bend = x2 > x1 ? (x2 - x1) / 2 : COLUMN / 2;
  const d = `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
  const title = `${edge.from} → ${edge.to}: ${formatCount(edge.calls)} calls, ` +
    `${formatCount(edge.errors)} errors, p50 ${formatDuration(edge.p50_ns)}, p99 ${formatDuration(edge.p99_ns)}`;
  return s('g', {class: `map-edge${edge.errors ? ' has-errors' : ''}`, dataset: {from: edge.from, to: edge.to}},
    s('title', {}, title),
    s('path', {d, 'marker-end': 'url(#map-arrow)'}),
    s('text', {x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, 'text-anchor': 'middle', class: 'map-edge-label'},
      edgeLabel(edge)));
}

function drawNode({x, y, node}) {
  const name = node.service.length > 22 ? `${node.service.slice(0, 21)}…` : node.service;
  return s('a', {href: route('service', node.service), class: 'map-node', dataset: {service: node.service}},
    s('title', {}, `${node.service}: ${formatCount(node.hits)} hits, ${formatCount(node.errors)} errors`),
    s('rect', {x, y, width: NODE_W, height: NODE_H, rx: 6, stroke: serviceColor(node.service)}),
    s('text', {x: x + 10, y: y + 18, class: 'map-node-name'}, name),
    s('text', {x: x + 10, y: y + 34, class: 'map-node-stats'},
      `${formatCount(node.hits)} hits · ${formatCount(node.errors)} errors`));
}

function drawMap(nodes, edges) {
  const {position, width, height} = layout(nodes, edges);
  const svg = s('svg', {class: 'map', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': 'Service map'},
  s('defs', {}, s('marker', {id: 'map-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5,
    markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse'}, s('path', {d: 'M0,0 L10,5 L0,10 z'}))));
  for (const edge of edges) {
    const from = position.get(edge.from), to = position.get(edge.to);
    if (from && to) svg.append(drawEdge(edge, from, to));
  }
  for (const place of position.values()) svg.append(drawNode(place));
  return svg;
}
