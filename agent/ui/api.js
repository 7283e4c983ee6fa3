// The query API client (docs/query-api.md).
//
// Every request is to a path on the origin that served this page: the UI
// never talks to another host, so it works offline and leaks nothing.

import {queryString} from './dom.js';

export class ApiError extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

async function getJson(path, query, signal) {
  const text = queryString(query);
  const response = await fetch(`/api/v1/${path}${text ? '?' + text : ''}`, {signal});
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    if (error.name === 'AbortError') throw error;
  }
  if (!response.ok) {
    throw new ApiError(response.status, (body && body.error) || `${response.status} ${response.statusText}`);
  }
  return body;
}

const segment = encodeURIComponent;

export const api = {
  services: (range, signal) => getJson('services', range, signal),
  resources: (service, range, signal) => getJson(`services/${segment(service)}/resources`, range, signal),
  latency: (query, signal) => getJson('latency', query, signal),
  traces: (query, signal) => getJson('traces', query, signal),
  trace: (traceId, signal) => getJson(`traces/${segment(traceId)}`, null, signal),
  tail: (query, signal) => getJson('tail', query, signal),
  operations: (service, signal) => getJson('operations', {service}, signal),
  servicemap: (query, signal) => getJson('servicemap', query, signal),
};
