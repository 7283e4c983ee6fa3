// The colour of a service in the current theme, the chip that shows it next
// to a service's name (services, service, trace, span detail and search
// pages), and the theme's colours for canvas drawing.

import {h} from './dom.js';
import {serviceHue} from './format.js';

const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');
export function isDark() {
  return darkQuery.matches;
}

export function serviceColor(service) {
  const hue = serviceHue(service || '');
  return isDark() ? `hsl(${hue} 45% 42%)` : `hsl(${hue} 60% 72%)`;
}

export function onThemeChange(callback) {
  darkQuery.addEventListener('change', callback);
  return () => darkQuery.removeEventListener('change', callback);
}

// A CSS custom property of the current theme, for canvas drawing.
export function themeColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// A small square of the service's colour; decorative, the name is beside it.
export function colourChip(service) {
  const chip = h('span', {class: 'chip', 'aria-hidden': 'true'});
  chip.style.backgroundColor = serviceColor(service);
  return chip;
}
