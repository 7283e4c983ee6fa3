// trace_model.js under node's test runner: the tree, the waterfall order,
// the flame rows and the critical path of a trace, from the API's answer.
import {test} from 'node:test';
import assert from 'node:assert/strict';

import {buildTraceModel, criticalPath, spanInRowAt} from '../../../agent/ui/trace_model.js';

// An answer of GET /api/v1/traces/{id}: spans as [id, parent, start_ns, duration_ns, name?].
function answer(rows) {
  return {trace_id: 'abc', start_us: 1000, spans: rows.map(([id, parent, offset, duration, name]) => ({
    span_id: id, parent_id: parent, offset_ns: offset, duration_ns: duration,
    name: name ?? `op-${id}`, service: id <= 3 ? 'web' : 'db', resource: 'r'}))};
}

const names = (spans) => spans.map((span) => span.name);

test('the waterfall is depth-first, children by start time', () => {
  const model = buildTraceModel(answer([[3, 1, 50, 10, 'late'], [1, 0, 0, 100, 'root'], [2, 1, 10, 20, 'early'], [4, 2, 12, 5, 'grandchild']]));
  assert.deepEqual(names(model.order), ['root', 'early', 'grandchild', 'late']);
  assert.deepEqual(model.order.map((span) => span.depth), [0, 1, 2, 1]);
  assert.deepEqual(names(model.roots), ['root']);
  assert.equal(model.byId.get(4).parent.name, 'early');
  assert.deepEqual(model.services, [['web', 3], ['db', 1]]);  // most spans first
  assert.equal(model.begin, 0);
  assert.equal(model.end, 100);
});

test('self time is the span minus the time its children cover, overlaps counted once', () => {
  const model = buildTraceModel(answer([[1, 0, 0, 100], [2, 1, 10, 30], [3, 1, 20, 30], [4, 1, 90, 20]]));
  // children cover 10..50 and 90..100 of the root's 0..100
  assert.equal(model.byId.get(1).selfTime, 50);
  assert.equal(model.byId.get(2).selfTime, 30);
});

test('overlapping siblings go to separate flame rows, sequential ones share a row', () => {
  const model = buildTraceModel(answer([[1, 0, 0, 100], [2, 1, 0, 40], [3, 1, 20, 40], [4, 1, 70, 10]]));
  assert.deepEqual(model.rows.map(names), [['op-1'], ['op-2', 'op-4'], ['op-3']]);
});

test('a parent cycle keeps every span, shown as a root of its own', () => {
  const model = buildTraceModel(answer([[1, 0, 0, 100], [5, 6, 10, 5], [6, 5, 20, 5]]));
  assert.equal(model.order.length, 3);
  assert.equal(new Set(model.order).size, 3);
  assert.equal(model.roots.length, 2);
});

test('a missing parent makes the span a root; a duplicate id keeps the first for lookups', () => {
  const model = buildTraceModel(answer([[1, 0, 0, 100, 'first'], [2, 99, 5, 10, 'orphan'], [1, 0, 50, 10, 'duplicate']]));
  assert.deepEqual(names(model.roots), ['first', 'orphan', 'duplicate']);
  assert.equal(model.byId.get(1).name, 'first');
});

test('an empty trace still has a one-nanosecond extent to draw', () => {
  const model = buildTraceModel({trace_id: 'x', start_us: 0, spans: []});
  assert.deepEqual([model.begin, model.end, model.order.length, model.criticalPath.length], [0, 1, 0, 0]);
});

test('start_us places a span when offset_ns is absent', () => {
  const model = buildTraceModel({trace_id: 'x', start_us: 1000, spans: [
    {span_id: 1, parent_id: 0, start_us: 1000, duration_ns: 5000}, {span_id: 2, parent_id: 1, start_us: 1002, duration_ns: 1000}]});
  assert.equal(model.byId.get(2).start, 2000);
  assert.equal(model.byId.get(2).end, 3000);
});

test('the critical path follows the child that finished last, the parent fills the gaps', () => {
  // root 0..100; a 10..40, b 30..90 (finished last), c 95..98 inside the root's tail
  const model = buildTraceModel(answer([[1, 0, 0, 100], [2, 1, 10, 30], [3, 1, 30, 60], [4, 1, 95, 3]]));
  const path = criticalPath(model.byId.get(1))
    .map(({span, start, end}) => [span.id, start, end]).sort((a, b) => a[1] - b[1]);
  assert.deepEqual(path, [[1, 0, 10], [2, 10, 30], [3, 30, 90], [1, 90, 95], [4, 95, 98], [1, 98, 100]]);
  const total = path.reduce((sum, [, start, end]) => sum + end - start, 0);
  assert.equal(total, 100);
  assert.deepEqual([1, 2, 3, 4].map((id) => Boolean(model.byId.get(id).critical)), [true, true, true, true]);
});

test('spanInRowAt finds the span under a time, with a tolerance for thin spans', () => {
  const model = buildTraceModel(answer([[1, 0, 0, 100], [2, 1, 10, 1], [3, 1, 50, 10]]));
  const row = model.rows[1];
  assert.equal(spanInRowAt(row, 55).id, 3);
  assert.equal(spanInRowAt(row, 30), null);
  assert.equal(spanInRowAt(row, 13), null);
  assert.equal(spanInRowAt(row, 13, 3).id, 2);
  assert.equal(spanInRowAt(row, 48, 3).id, 3);
  assert.equal(spanInRowAt([], 5), null);
});
