// DOM construction without HTML strings.
//
// Every value shown by the UI comes from spans an application sent, so it is
// untrusted: a tag value may well be "<img src=x onerror=alert(1)>". This
// module is the only way the UI builds markup, and it only ever uses
// createElement, textContent and setAttribute, never innerHTML, so such a
// value is always shown as text and never parsed.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h('a', {href: '#/x', class: 'link', onclick: fn}, 'text', childNode, ...)
// Strings and numbers become text nodes; null/undefined/false are skipped;
// arrays are flattened.
export function h(tag, attributes, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

// Same as h() for SVG elements.
export function s(tag, attributes, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

// A text cell that never breaks the layout: long values end in an ellipsis
// and the full value is in the tooltip.
export function clipped(tag, text, attributes = {}) {
  const value = text === null || text === undefined ? '' : String(text);
  return h(tag, {...attributes, class: `clip ${attributes.class || ''}`.trim(), title: value}, value);
}

// A hash link to a page of the UI; the parts are URL-encoded, so a service
// named "a/b?c" or "<x>" stays one path segment.
export function route(...parts) {
  return '#/' + parts.map(encodeURIComponent).join('/');
}

export function routeWithQuery(path, query) {
  const text = queryString(query);
  return text ? `${path}?${text}` : path;
}

export function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (item === undefined || item === null || item === '' || item === false) continue;
      params.append(key, item === true ? '1' : String(item));
    }
  }
  return params.toString();
}

export function message(kind, text) {
  return h('p', {class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status'}, text);
}
