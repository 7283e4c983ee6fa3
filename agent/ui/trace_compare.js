// Two traces side by side (Jaeger's Compare): spans are matched by their
// path of service/operation pairs from the root, so "web flask.request ›
// db postgres.query" in one trace meets the same path in the other whatever
// the ids. Pure: models in (trace_model.js), rows out.

// One row per path found in either trace, in depth-first order (the first
// trace's order, then what only the second has), with each side's span
// count and total duration. kind: 'same', 'added' (only in b), 'removed'
// (only in a), 'changed' (counts differ, or the duration moved by more
// than a fifth and by more than 1% of the longer trace).
export function compareTraces(a, b) {
  const rows = new Map();
  const visit = (model, side) => {
    const paths = new Map();  // span -> path key
    for (const span of model.order) {
      const step = `${span.service}\u0000${span.name}`;
      const key = span.parent ? `${paths.get(span.parent)}\u0001${step}` : step;
      paths.set(span, key);
      let row = rows.get(key);
      if (!row) {
        row = {key, service: span.service, name: span.name, depth: span.depth,
          count: [0, 0], duration: [0, 0], errors: [0, 0], spans: [null, null]};
        rows.set(key, row);
      }
      row.count[side]++;
      row.duration[side] += span.duration;
      row.errors[side] += span.error;
      if (!row.spans[side]) row.spans[side] = span;
    }
  };
  visit(a, 0);
  visit(b, 1);
  const threshold = 0.01 * Math.max(a.end - a.begin, b.end - b.begin);
  const ordered = [...rows.values()];
  for (const row of ordered) row.kind = kindOf(row, threshold);
  return ordered;
}

function kindOf(row, threshold) {
  const [countA, countB] = row.count;
  if (!countA) return 'added';
  if (!countB) return 'removed';
  if (countA !== countB) return 'changed';
  const [durationA, durationB] = row.duration;
  const moved = Math.abs(durationB - durationA);
  return moved > threshold && moved > 0.2 * Math.min(durationA, durationB) ? 'changed' : 'same';
}
