// The trace explorer's entry point: a hash router over the pages.
//
// The URL holds the whole state of a page (#/services?range=1d,
// #/search?service=web&error=1, #/map, #/trace/<id>, #/compare/<id>/<id>), so every view can be shared
// and reloaded. Each page module exports render(view, context) and may
// return a cleanup function, called when the page is left (to stop polling,
// drop listeners). context.signal aborts the page's requests when it is left.

import {h, clear, message} from './dom.js';
import {parseHash} from './url.js';
// Pages load on first use, so the first page does not wait for the code of
// the others (the trace view's canvas code is the largest); once a page is
// shown the rest load in idle time, so moving between pages is immediate.
const ROUTES = [
  {pattern: /^\/services$/, load: () => import('./page_services.js'), nav: 'services'},
  {pattern: /^\/service\/([^/]+)$/, load: () => import('./page_service.js'), nav: 'services'},
  {pattern: /^\/search$/, load: () => import('./page_search.js'), nav: 'search'},
  {pattern: /^\/trace\/([^/]+)$/, load: () => import('./page_trace.js'), nav: 'search'},
  {pattern: /^\/compare\/([^/]+)\/([^/]+)$/, load: () => import('./page_compare.js'), nav: 'search'},
  {pattern: /^\/live$/, load: () => import('./page_live.js'), nav: 'live'},
  {pattern: /^\/map$/, load: () => import('./page_map.js'), nav: 'map'},
];

function loadOtherPagesWhenIdle() {
  const idle = window.requestIdleCallback || ((callback) => setTimeout(callback, 200));
  idle(() => { for (const route of ROUTES) route.load().catch(() => {}); });
}

const view = document.getElementById('view');
let leaveCurrentPage = () => {};

async function showCurrentPage() {
  leaveCurrentPage();
  const {path, query} = parseHash();
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('current', Boolean(route) && link.dataset.nav === route.nav);
  }
  clear(view);
  delete view.dataset.ready;
  if (!route) {
    document.title = 'Not found · ctrace';
    view.append(h('h1', {}, 'Page not found'), h('p', {}, h('a', {href: '#/services'}, 'Go to services')));
    return;
  }
  const controller = new AbortController();
  const cleanups = [() => controller.abort()];
  leaveCurrentPage = () => { for (const cleanup of cleanups.splice(0)) cleanup(); };
  const params = path.match(route.pattern).slice(1).map(decodeURIComponent);
  try {
    const page = await route.load();
    if (controller.signal.aborted) return;
    const cleanup = await page.render(view, {params, query, signal: controller.signal});
    if (typeof cleanup === 'function') {
      if (controller.signal.aborted) cleanup(); else cleanups.push(cleanup);
    }
  } catch (error) {
    if (error.name === 'AbortError' || controller.signal.aborted) return;
    view.append(message('error', `Could not load this page: ${error.message}`));
    console.warn(error);
  }
}

function isTyping(target) {
  return target.closest('input, textarea, select, [contenteditable]');
}

// "/" focuses the page's own search field, or else the header's.
document.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
  event.preventDefault();
  const field = view.querySelector('[data-search]') || document.getElementById('jump-input');
  field.focus();
  if (field.select) field.select();
});

// The header box: a trace id opens the trace; anything else filters services.
document.getElementById('jump').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('jump-input');
  const text = input.value.trim();
  if (!text) return;
  location.hash = /^([0-9a-f]{16}|[0-9a-f]{32}|\d{1,39})$/i.test(text)
    ? `#/trace/${encodeURIComponent(text.toLowerCase())}`
    : `#/services?filter=${encodeURIComponent(text)}`;
  input.blur();
});

window.addEventListener('hashchange', showCurrentPage);
if (!location.hash) history.replaceState(null, '', '#/services');
showCurrentPage().finally(loadOtherPagesWhenIdle);
