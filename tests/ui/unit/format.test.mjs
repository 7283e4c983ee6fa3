// format.js under node's test runner: the UI's formatting is pure, so it is
// tested here without a browser (the Playwright tests see it on the pages).
import {test} from 'node:test';
import assert from 'node:assert/strict';

// Local wall-clock times are read in UTC so the expected strings are fixed
// (node rereads TZ when it changes).
process.env.TZ = 'UTC';

const format = await import('../../../agent/ui/format.js');

test('durations keep three significant digits and pick the unit', () => {
  assert.equal(format.formatDuration(999), '999 ns');
  assert.equal(format.formatDuration(1000), '1 µs');
  assert.equal(format.formatDuration(1234), '1.23 µs');
  assert.equal(format.formatDuration(12_345_000), '12.3 ms');
  assert.equal(format.formatDuration(123_456_000), '123 ms');
  assert.equal(format.formatDuration(1_500_000_000), '1.5 s');
  assert.equal(format.formatDuration(-2_000_000), '-2 ms');
  assert.equal(format.formatDuration(125e9), '2m 5s');
});

test('a missing duration shows as a dash', () => {
  for (const value of [null, undefined, NaN]) assert.equal(format.formatDuration(value), '–');
});

test('parseDuration reads every unit, milliseconds when none, and refuses the rest', () => {
  assert.equal(format.parseDuration('250us'), 250_000);
  assert.equal(format.parseDuration('250µs'), 250_000);
  assert.equal(format.parseDuration('1.5 s'), 1_500_000_000);
  assert.equal(format.parseDuration('100'), 100_000_000);
  assert.equal(format.parseDuration('2MIN'), 120e9);
  assert.equal(format.parseDuration(' 7ns '), 7);
  for (const bad of ['', 'fast', '1h', '-5ms', '1e3', null]) assert.equal(format.parseDuration(bad), null, String(bad));
});

test('rates switch to per minute below 0.01/s', () => {
  assert.equal(format.formatRate(0), '0/s');
  assert.equal(format.formatRate(1234.4), '1234/s');
  assert.equal(format.formatRate(2.345), '2.35/s');
  assert.equal(format.formatRate(0.005), '0.3/min');
});

test('percentages say <0.1% rather than round a rare error to zero', () => {
  assert.equal(format.formatPercent(0), '0%');
  assert.equal(format.formatPercent(0.0004), '<0.1%');
  assert.equal(format.formatPercent(0.125), '12.5%');
  assert.equal(format.formatPercent(1), '100%');
});

test('counts are grouped by thousands', () => {
  assert.equal(format.formatCount(1234567), '1,234,567');
  assert.equal(format.formatCount(undefined), '0');
});

test('times are wall-clock with milliseconds, dates ISO-like', () => {
  const us = Date.UTC(2026, 0, 2, 3, 4, 5, 67) * 1000;
  assert.equal(format.formatTime(us), '03:04:05.067');
  assert.equal(format.formatDateTime(us), '2026-01-02 03:04:05.067');
  assert.equal(format.formatClock(Date.UTC(2026, 0, 2, 13, 9) / 1000), '13:09');
});

test('a 128-bit trace id with an empty high half shows as its low 64 bits', () => {
  assert.equal(format.shortId('0000000000000000abcdef0123456789'), 'abcdef0123456789');
  assert.equal(format.shortId('1000000000000000abcdef0123456789'), '1000000000000000abcdef0123456789');
  assert.equal(format.shortId(undefined), '');
});

test('a service keeps its hue, and names one character apart get far-apart hues', () => {
  const first = format.serviceHue('svc-1');
  assert.equal(format.serviceHue('svc-1'), first);
  assert.ok(first >= 0 && first < 360 && Number.isInteger(first));
  const distance = Math.abs(first - format.serviceHue('svc-2'));
  assert.ok(Math.min(distance, 360 - distance) > 10, `hues ${first} and ${format.serviceHue('svc-2')}`);
  const hues = new Set(Array.from({length: 50}, (_, i) => format.serviceHue(`service-${i}`)));
  assert.ok(hues.size > 40, `${hues.size} distinct hues for 50 services`);
});
