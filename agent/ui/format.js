// Formatting of durations, times, rates and ids, and the hue of a service.
// Pure functions of their arguments (no DOM, no window), so node's test
// runner tests them as they are (tests/ui/unit); colour.js turns the hue
// into a colour for the current theme.

export function formatDuration(ns) {
  if (ns === null || ns === undefined || Number.isNaN(ns)) return '–';
  const abs = Math.abs(ns);
  if (abs < 1e3) return `${Math.round(ns)} ns`;
  if (abs < 1e6) return `${trim(ns / 1e3)} µs`;
  if (abs < 1e9) return `${trim(ns / 1e6)} ms`;
  if (abs < 60e9) return `${trim(ns / 1e9)} s`;
  const minutes = Math.floor(ns / 60e9);
  return `${minutes}m ${Math.round((ns - minutes * 60e9) / 1e9)}s`;
}

// Three significant digits at most: 1.23, 12.3, 123.
function trim(value) {
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  const text = value.toFixed(digits);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

// "10ms", "1.5 s", "250us", "100" (milliseconds when no unit) -> nanoseconds.
const UNIT_NS = {ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, min: 60e9};
export function parseDuration(text) {
  const match = String(text || '').trim().match(/^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|min)?$/i);
  if (!match) return null;
  const unit = (match[2] || 'ms').toLowerCase();
  return Math.round(parseFloat(match[1]) * UNIT_NS[unit]);
}

export function formatRate(perSecond) {
  if (!perSecond) return '0/s';
  if (perSecond >= 100) return `${Math.round(perSecond)}/s`;
  if (perSecond >= 0.01) return `${trim(perSecond)}/s`;
  return `${trim(perSecond * 60)}/min`;
}

export function formatPercent(ratio) {
  if (!ratio) return '0%';
  const percent = ratio * 100;
  return percent < 0.1 ? '<0.1%' : `${trim(percent)}%`;
}

const countFormat = new Intl.NumberFormat('en-US');
export function formatCount(value) {
  return countFormat.format(value || 0);
}

function pad(value, width = 2) {
  return String(value).padStart(width, '0');
}

// Local wall clock time of a timestamp in microseconds since the epoch.
export function formatTime(startUs) {
  const date = new Date(startUs / 1000);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export function formatDateTime(startUs) {
  const date = new Date(startUs / 1000);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${formatTime(startUs)}`;
}

export function formatClock(unixSeconds) {
  const date = new Date(unixSeconds * 1000);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function shortId(traceId) {
  return String(traceId || '').replace(/^0{16}/, '');
}

// A stable hue per service, so one service looks the same on every page.
// The hue comes from a hash of the name; lightness follows the theme
// (colour.js).
const hueCache = new Map();
export function serviceHue(service) {
  let hue = hueCache.get(service);
  if (hue === undefined) {
    let hash = 2166136261;
    for (let i = 0; i < service.length; i++) {
      hash ^= service.charCodeAt(i);
      hash = Math.imul(hash, 16777619);
    }
    // Finalizer (from MurmurHash3) so names differing in one character,
    // like svc-1 and svc-2, get far-apart hues.
    hash ^= hash >>> 16;
    hash = Math.imul(hash, 0x85ebca6b);
    hash ^= hash >>> 13;
    hash = Math.imul(hash, 0xc2b2ae35);
    hash ^= hash >>> 16;
    hue = (hash >>> 0) % 360;
    hueCache.set(service, hue);
  }
  return hue;
}
