// The tree of a trace and its two layouts, computed once when a trace opens.
//
// - order: spans in depth-first order, children by start time; one row per
//   span in the waterfall.
// - rows: the flame graph's rows. A span sits below its parent; when two
//   spans of one level overlap in time (async work, fan-out) the later one
//   moves down a row, so nothing is drawn over anything else.
// - criticalPath: the stretches of time that made the trace as long as it
//   is (see criticalPath below); span.critical tells whether a span has one.
// Everything is iterative: a trace may be 10,000 spans deep.

export function buildTraceModel(answer) {
  const traceStartUs = answer.start_us;
  const spans = (answer.spans || []).map((raw, index) => {
    const start = raw.offset_ns ?? (raw.start_us - traceStartUs) * 1000;
    const duration = Math.max(0, raw.duration_ns || 0);
    return {
      raw, index, start, duration, end: start + duration,
      id: raw.span_id, parentId: raw.parent_id,
      name: String(raw.name ?? ''), service: String(raw.service ?? ''), resource: String(raw.resource ?? ''),
      error: raw.error ? 1 : 0,
      parent: null, children: [], depth: 0, row: 0, order: 0, selfTime: duration,
    };
  });
  const byId = new Map();
  for (const span of spans) if (!byId.has(span.id)) byId.set(span.id, span);

  const roots = [];
  for (const span of spans) {
    const parent = span.parentId ? byId.get(span.parentId) : undefined;
    if (parent && parent !== span) {
      span.parent = parent;
      parent.children.push(span);
    } else {
      roots.push(span);
    }
  }
  const byStart = (a, b) => a.start - b.start || a.index - b.index;
  for (const span of spans) if (span.children.length > 1) span.children.sort(byStart);
  roots.sort(byStart);

  const order = [];
  const visited = new Uint8Array(spans.length);
  walk(roots, order, visited);
  // Spans whose parent links form a cycle are reachable from no root: show
  // them as roots of their own rather than lose them.
  for (const span of spans) {
    if (visited[span.index]) continue;
    if (span.parent) span.parent.children.splice(span.parent.children.indexOf(span), 1);
    span.parent = null;
    roots.push(span);
    walk([span], order, visited);
  }

  const rows = layoutFlameRows(order);
  let begin = Infinity;
  let end = -Infinity;
  const services = new Map();
  let errors = 0;
  for (const span of spans) {
    if (span.start < begin) begin = span.start;
    if (span.end > end) end = span.end;
    services.set(span.service, (services.get(span.service) || 0) + 1);
    errors += span.error;
    span.selfTime = selfTime(span);
  }
  if (!spans.length) { begin = 0; end = 1; }
  if (end <= begin) end = begin + 1;
  const path = roots.length ? criticalPath(roots.reduce((a, b) => (b.end > a.end ? b : a))) : [];
  for (const segment of path) segment.span.critical = true;
  return {
    traceId: answer.trace_id, startUs: traceStartUs, spans, roots, order, rows, byId,
    begin, end, services: [...services.entries()].sort((a, b) => b[1] - a[1]), errors,
    criticalPath: path,
  };
}

// The critical path below `root`, as Jaeger computes it: walking back from
// the end of a span, the child that finished last before that moment is
// what the span was waiting for; the span's own work fills the gaps, and
// the walk goes on from where that child started. Each span needs only the
// moment it must end by, so a stack of (span, end) replaces recursion.
// Returns {span, start, end} segments (in no particular order).
export function criticalPath(root) {
  const segments = [];
  const pending = [[root, root.end]];
  while (pending.length) {
    const [span, limit] = pending.pop();
    let moment = Math.min(span.end, limit);
    const children = span.children.slice().sort((a, b) => b.end - a.end || b.start - a.start);
    for (const child of children) {
      if (moment <= span.start) break;
      if (child.start >= moment) continue;
      const childEnd = Math.min(child.end, moment);
      if (childEnd < moment) segments.push({span, start: childEnd, end: moment});
      pending.push([child, childEnd]);
      moment = Math.max(child.start, span.start);
    }
    if (moment > span.start) segments.push({span, start: span.start, end: moment});
  }
  return segments;
}

function walk(roots, order, visited) {
  const stack = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(roots[i]);
  while (stack.length) {
    const span = stack.pop();
    if (visited[span.index]) continue;
    visited[span.index] = 1;
    span.depth = span.parent ? span.parent.depth + 1 : 0;
    span.order = order.length;
    order.push(span);
    for (let i = span.children.length - 1; i >= 0; i--) stack.push(span.children[i]);
  }
}

// rowEnd[r] is the latest end of a span placed in row r so far; a span goes
// to the first row at or below its parent's next row that is free at its
// start. Depth-first order keeps each subtree together.
function layoutFlameRows(order) {
  const rowEnd = [];
  const rows = [];
  for (const span of order) {
    let row = span.parent ? span.parent.row + 1 : 0;
    while (row < rowEnd.length && rowEnd[row] > span.start) row++;
    span.row = row;
    rowEnd[row] = Math.max(rowEnd[row] ?? -Infinity, span.end);
    (rows[row] || (rows[row] = [])).push(span);
  }
  for (const row of rows) row.sort((a, b) => a.start - b.start);
  return rows;
}

// Time in the span not covered by any of its children.
function selfTime(span) {
  let covered = 0;
  let cursor = span.start;
  for (const child of span.children) {
    const from = Math.max(child.start, cursor);
    const to = Math.min(child.end, span.end);
    if (to > from) { covered += to - from; cursor = to; }
  }
  return Math.max(0, span.duration - covered);
}

// The span of a flame row under a time, by binary search on start;
// `tolerance` (ns) lets a click hit a span drawn narrower than a pixel.
export function spanInRowAt(row, time, tolerance = 0) {
  let low = 0;
  let high = row.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (row[middle].start <= time) { found = middle; low = middle + 1; } else high = middle - 1;
  }
  if (found >= 0 && row[found].end + tolerance >= time) return row[found];
  const next = row[found + 1];
  return next && next.start - tolerance <= time ? next : null;
}
