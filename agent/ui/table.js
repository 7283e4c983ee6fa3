// A sortable table whose rows are links: every row is focusable, Enter or a
// click opens it, and the header buttons sort. The rows are built once and
// only reordered when the sort changes.

import {h} from './dom.js';

// columns: [{key, label, value: row => sortable, cell: row => Node|string,
//            numeric, class}]
// rowHref: row => '#/...'; rowData: row => {name: value} for data-*; onSort(key, direction) is told of a new order so
// the page can keep it in the URL.
export function sortableTable({columns, rows, rowHref, rowData, sortKey, sortDirection = 'desc', onSort, caption, emptyText = 'Nothing in this time range.'}) {
  const body = h('tbody');
  const builtRows = rows.map((row) => ({row, element: buildRow(row, columns, rowHref, rowData)}));
  const headerButtons = new Map();
  let currentKey = sortKey;
  let currentDirection = sortDirection;

  function sortBy(key, direction) {
    const column = columns.find((candidate) => candidate.key === key);
    if (!column) return;
    currentKey = key;
    currentDirection = direction;
    const factor = direction === 'asc' ? 1 : -1;
    builtRows.sort((a, b) => {
      const left = column.value(a.row);
      const right = column.value(b.row);
      if (typeof left === 'string' || typeof right === 'string') return factor * String(left).localeCompare(String(right));
      return factor * ((left ?? -Infinity) - (right ?? -Infinity));
    });
    body.replaceChildren(...builtRows.map((built) => built.element));
    for (const [columnKey, button] of headerButtons) {
      const th = button.parentElement;
      th.setAttribute('aria-sort', columnKey === key ? (direction === 'asc' ? 'ascending' : 'descending') : 'none');
    }
  }

  const headers = columns.map((column) => {
    if (!column.value) return h('th', {class: column.class, scope: 'col'}, column.label);
    const button = h('button', {type: 'button', class: 'sort', onclick: () => {
      const direction = currentKey === column.key && currentDirection === 'desc' ? 'asc' : 'desc';
      sortBy(column.key, direction);
      if (onSort) onSort(column.key, direction);
    }}, column.label);
    headerButtons.set(column.key, button);
    return h('th', {class: column.class, scope: 'col', 'aria-sort': 'none'}, button);
  });

  const table = h('table', {class: 'data'},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers)),
    body);
  if (rows.length === 0) {
    body.append(h('tr', {}, h('td', {colspan: columns.length, class: 'empty'}, emptyText)));
  } else if (currentKey) {
    sortBy(currentKey, currentDirection);
  } else {
    body.replaceChildren(...builtRows.map((built) => built.element));
  }
  return table;
}

function buildRow(row, columns, rowHref, rowData) {
  const href = rowHref ? rowHref(row) : null;
  const cells = columns.map((column) => h('td', {class: column.class}, column.cell(row)));
  const attributes = href ? {tabindex: 0, class: 'link-row', 'data-href': href} : {};
  const element = h('tr', attributes, cells);
  if (rowData) Object.assign(element.dataset, rowData(row));
  return element;
}

// Rows with data-href open on click and on Enter; one listener for the page.
export function installRowNavigation(root) {
  const open = (row, event) => {
    if (event.target.closest('a, button, input, select')) return;
    location.hash = row.dataset.href;
  };
  root.addEventListener('click', (event) => {
    const row = event.target.closest('tr[data-href]');
    if (row) open(row, event);
  });
  root.addEventListener('keydown', (event) => {
    const row = event.target.closest('tr[data-href]');
    if (!row || event.target !== row) return;
    if (event.key === 'Enter') open(row, event);
    else if (event.key === 'ArrowDown' && row.nextElementSibling) { event.preventDefault(); row.nextElementSibling.focus(); }
    else if (event.key === 'ArrowUp' && row.previousElementSibling) { event.preventDefault(); row.previousElementSibling.focus(); }
  });
}
