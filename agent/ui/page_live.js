// Live: traces as they arrive, by polling /api/v1/tail with the cursor of
// the previous answer. Polling stops when the page is left or paused, and
// waits while the tab is hidden.

import {h, message} from './dom.js';
import {api} from './api.js';
import {formatCount} from './format.js';
import {installRowNavigation} from './table.js';
import {traceTable} from './trace_list.js';

const POLL_MS = 1500;
const KEEP = 500;

export function render(view, {signal}) {
  document.title = 'Live · ctrace';
  let traces = [];
  let cursor;
  let paused = false;
  let timer = null;
  // One poll at a time: Resume pressed while a poll waits for its answer
  // must not start a second loop beside it, which would add the same traces
  // twice and poll twice as often from then on.
  let polling = false;
  const status = h('span', {class: 'muted', role: 'status'}, 'Waiting for traces…');
  const pause = h('button', {type: 'button', 'aria-pressed': 'false', onclick: () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) poll();
  }}, 'Pause');
  const list = h('div', {}, message('', 'Loading…'));
  view.append(h('div', {class: 'page-head'}, h('div', {}, h('h1', {}, 'Live'), status), h('div', {class: 'toolbar'}, pause)), list);
  installRowNavigation(list);

  async function poll() {
    clearTimeout(timer);
    if (paused || signal.aborted || polling) return;
    polling = true;
    try {
      await refresh();
    } finally {
      polling = false;
    }
    if (!paused && !signal.aborted) timer = setTimeout(poll, POLL_MS);
  }

  async function refresh() {
    if (!document.hidden) {
      try {
        const answer = await api.tail({after: cursor, limit: 100}, signal);
        cursor = answer.cursor ?? cursor;
        const fresh = answer.traces || [];
        if (fresh.length || list.querySelector('.message')) {
          traces = fresh.concat(traces).slice(0, KEEP);
          // Keep keyboard focus on the same trace across refreshes.
          const focusedId = document.activeElement?.dataset?.traceId;
          list.replaceChildren(traceTable(traces, {emptyText: 'No trace yet: send some to this agent.'}));
          if (focusedId) list.querySelector(`tr[data-trace-id="${CSS.escape(focusedId)}"]`)?.focus();
        }
        status.textContent = `${formatCount(traces.length)} recent traces, updated ${new Date().toLocaleTimeString()}`;
        view.dataset.ready = 'live';
      } catch (error) {
        if (error.name === 'AbortError') return;
        status.textContent = `Could not reach the agent (${error.message}); retrying.`;
      }
    }
  }
  poll();
  return () => clearTimeout(timer);
}
