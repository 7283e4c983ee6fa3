// The page's state in the URL hash: "#/path?query".

export function parseHash() {
  const hash = location.hash.replace(/^#/, '') || '/services';
  const questionMark = hash.indexOf('?');
  const path = questionMark < 0 ? hash : hash.slice(0, questionMark);
  const query = new URLSearchParams(questionMark < 0 ? '' : hash.slice(questionMark + 1));
  return {path, query};
}

// Replace the query of the current page in the URL without re-rendering it
// (sort order, selected span: state worth sharing but not worth a reload).
export function replaceQuery(query) {
  const {path} = parseHash();
  const text = (query instanceof URLSearchParams ? query : new URLSearchParams(query)).toString();
  history.replaceState(null, '', `#${path}${text ? '?' + text : ''}`);
}
