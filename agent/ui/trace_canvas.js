// The trace timeline: a flame graph or a waterfall on one <canvas>, with a
// time axis and a minimap of the whole trace on a second canvas above it.
//
// Canvas rather than DOM because a trace may hold thousands of spans: a
// frame draws only the rows in view (the waterfall) or one rectangle per
// span (the flame graph), and nothing per span lives in the DOM. Text drawn
// with fillText is never parsed, so span values need no escaping here.
//
// Interaction: drag to pan, Ctrl/⌘+wheel or +/− to zoom, wheel to scroll,
// double-click a span to zoom to it, drag on the minimap to choose a time
// window, arrow keys to walk the tree, 0 to reset the zoom. In the
// waterfall a span's triangle (or Left/Right on it) folds its subtree.

import {h} from './dom.js';
import {formatDuration} from './format.js';
import {serviceColor, themeColor, onThemeChange} from './colour.js';
import {spanInRowAt} from './trace_model.js';

const AXIS_HEIGHT = 22;
const ROW_HEIGHT = {flame: 20, waterfall: 22};
const MINIMAP_HEIGHT = 44;
const MAX_HEIGHT = 600;
const MIN_HEIGHT = 120;
const FONT = '12px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif';

export class TraceTimeline {
  constructor(container, model, {mode = 'flame', onSelect = () => {}} = {}) {
    this.model = model;
    this.mode = mode;
    this.onSelect = onSelect;
    this.viewStart = model.begin;
    this.viewEnd = model.end;
    this.scrollTop = 0;
    this.selected = null;
    this.hovered = null;
    this.pointer = null;
    this.frameRequest = 0;
    this.colors = new Map();
    // Waterfall rows: the spans in depth-first order, without the
    // descendants of collapsed spans.
    this.collapsed = new Map();  // span -> how many descendants it hides
    this.layoutWaterfall();

    this.minimap = h('canvas', {class: 'minimap', 'aria-label': 'Minimap of the whole trace; drag to choose a time window'});
    this.canvas = h('canvas', {class: 'timeline', tabindex: 0, role: 'img',
      'aria-label': `Trace timeline of ${model.spans.length} spans. Arrow keys move between spans, Enter shows the selected span, plus and minus zoom, 0 resets.`});
    this.tip = h('div', {class: 'hover-tip', hidden: true});
    this.frame = h('div', {class: 'canvas-frame'}, this.minimap, this.canvas, this.tip);
    container.append(this.frame);

    this.installPointer();
    this.installKeyboard();
    this.installMinimap();
    this.stopThemeWatch = onThemeChange(() => { this.colors.clear(); this.resize(); });
    this.resizeObserver = new ResizeObserver(() => {
      if (this.frame.clientWidth !== this.width) this.resize();
    });
    this.resizeObserver.observe(this.frame);
    this.resize();
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.stopThemeWatch();
    cancelAnimationFrame(this.frameRequest);
  }

  // --- geometry ------------------------------------------------------------

  get rowHeight() { return ROW_HEIGHT[this.mode]; }
  get rowCount() { return this.mode === 'flame' ? this.model.rows.length : this.visible.length; }
  get contentHeight() { return this.rowCount * this.rowHeight; }
  get timelineLeft() { return this.mode === 'flame' ? 0 : Math.round(Math.min(380, Math.max(180, this.width * 0.3))); }
  get timelineWidth() { return Math.max(10, this.width - this.timelineLeft - 8); }
  get maxScroll() { return Math.max(0, this.contentHeight - (this.height - AXIS_HEIGHT)); }

  xOf(time) {
    return this.timelineLeft + ((time - this.viewStart) / (this.viewEnd - this.viewStart)) * this.timelineWidth;
  }

  timeAt(x) {
    return this.viewStart + ((x - this.timelineLeft) / this.timelineWidth) * (this.viewEnd - this.viewStart);
  }

  rowTop(span) {
    const row = this.mode === 'flame' ? span.row : this.visibleIndex.get(span);
    return row === undefined ? -Infinity : AXIS_HEIGHT + row * this.rowHeight - this.scrollTop;
  }

  // Where a waterfall row's expand/collapse triangle sits, left of its chip.
  indentOf(span) { return 18 + Math.min(span.depth, 24) * 12; }

  onToggle(span, x) {
    return this.mode === 'waterfall' && span.children.length > 0 &&
      x >= this.indentOf(span) - 16 && x < this.indentOf(span);
  }

  spanAt(x, y) {
    if (y < AXIS_HEIGHT) return null;
    const index = Math.floor((y - AXIS_HEIGHT + this.scrollTop) / this.rowHeight);
    if (this.mode === 'waterfall') return this.visible[index] || null;
    const row = this.model.rows[index];
    if (!row || x < this.timelineLeft) return null;
    const tolerance = (2 * (this.viewEnd - this.viewStart)) / this.timelineWidth;
    return spanInRowAt(row, this.timeAt(x), tolerance);
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    this.width = Math.max(200, this.frame.clientWidth);
    this.height = Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, this.contentHeight + AXIS_HEIGHT + 4)));
    for (const [canvas, height] of [[this.canvas, this.height], [this.minimap, MINIMAP_HEIGHT]]) {
      canvas.width = Math.round(this.width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${this.width}px`;
      canvas.style.height = `${height}px`;
    }
    this.scrollTop = Math.min(this.scrollTop, this.maxScroll);
    this.minimapImage = null;
    this.draw();
  }

  // --- state changes ---------------------------------------------------------

  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this.scrollTop = 0;
    this.resize();
    if (this.selected) this.reveal(this.selected);
  }

  layoutWaterfall() {
    this.visible = [];
    this.visibleIndex = new Map();
    let hiddenBelow = Infinity;  // depth under which the spans are hidden
    for (const span of this.model.order) {
      if (span.depth > hiddenBelow) continue;
      hiddenBelow = this.collapsed.has(span) ? span.depth : Infinity;
      this.visibleIndex.set(span, this.visible.length);
      this.visible.push(span);
    }
  }

  // Collapse or expand a span's subtree in the waterfall.
  toggle(span, collapse = !this.collapsed.has(span)) {
    if (!span.children.length || collapse === this.collapsed.has(span)) return;
    if (collapse) this.collapsed.set(span, countDescendants(this.model, span));
    else this.collapsed.delete(span);
    this.layoutWaterfall();
    if (this.selected && !this.visibleIndex.has(this.selected)) this.selected = span;
    this.resize();
  }

  setView(start, end) {
    const total = this.model.end - this.model.begin;
    const minimum = Math.max(total / 1e6, 100);
    const width = Math.min(Math.max(end - start, minimum), total);
    start = Math.min(Math.max(start, this.model.begin), this.model.end - width);
    this.viewStart = start;
    this.viewEnd = start + width;
    this.scheduleDraw();
  }

  zoomBy(factor, anchor = (this.viewStart + this.viewEnd) / 2) {
    this.setView(anchor - (anchor - this.viewStart) * factor, anchor + (this.viewEnd - anchor) * factor);
  }

  resetZoom() {
    this.scrollTop = 0;
    this.setView(this.model.begin, this.model.end);
  }

  zoomTo(span) {
    const padding = Math.max(span.duration * 0.05, (this.model.end - this.model.begin) / 1e6);
    this.setView(span.start - padding, span.end + padding);
  }

  scrollBy(pixels) {
    this.scrollTop = Math.min(this.maxScroll, Math.max(0, this.scrollTop + pixels));
    this.scheduleDraw();
  }

  select(span, {notify = true} = {}) {
    this.selected = span;
    if (span) this.reveal(span);
    this.scheduleDraw();
    if (notify) this.onSelect(span);
  }

  // Scroll and pan so the span is in view, keeping the zoom when it fits.
  reveal(span) {
    let hidden = false;
    for (let ancestor = span.parent; ancestor; ancestor = ancestor.parent)
      hidden = this.collapsed.delete(ancestor) || hidden;
    if (hidden) { this.layoutWaterfall(); this.resize(); }
    const top = this.rowTop(span) + this.scrollTop - AXIS_HEIGHT;
    const visible = this.height - AXIS_HEIGHT;
    if (top < this.scrollTop) this.scrollTop = top;
    else if (top + this.rowHeight > this.scrollTop + visible) this.scrollTop = top + this.rowHeight - visible;
    this.scrollTop = Math.min(this.maxScroll, Math.max(0, this.scrollTop));
    if (span.end < this.viewStart || span.start > this.viewEnd) {
      const width = Math.max(this.viewEnd - this.viewStart, span.duration * 1.1);
      const middle = (span.start + span.end) / 2;
      this.setView(middle - width / 2, middle + width / 2);
    }
  }

  // --- drawing ---------------------------------------------------------------

  scheduleDraw() {
    if (this.frameRequest) return;
    this.frameRequest = requestAnimationFrame(() => { this.frameRequest = 0; this.draw(); });
  }

  colorOf(service) {
    let color = this.colors.get(service);
    if (!color) { color = serviceColor(service); this.colors.set(service, color); }
    return color;
  }

  draw() {
    const ratio = window.devicePixelRatio || 1;
    const context = this.canvas.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    const theme = {
      background: themeColor('--panel'), alternate: themeColor('--panel-alt'), text: themeColor('--canvas-text'),
      muted: themeColor('--muted'), border: themeColor('--border'), error: themeColor('--error'), selection: themeColor('--selection'),
      critical: themeColor('--critical'),
    };
    context.fillStyle = theme.background;
    context.fillRect(0, 0, this.width, this.height);
    context.font = FONT;
    context.textBaseline = 'middle';
    this.drawGrid(context, theme);
    if (this.mode === 'flame') this.drawFlame(context, theme); else this.drawWaterfall(context, theme);
    this.drawCriticalPath(context, theme);
    this.drawAxis(context, theme);
    this.drawMinimap(theme);
    this.canvas.dataset.drawn = this.mode;
    this.canvas.dataset.spans = String(this.model.spans.length);
    this.canvas.dataset.rows = String(this.rowCount);
    this.canvas.dataset.critical = String(this.model.criticalPath.length);
  }

  ticks() {
    const count = Math.max(2, Math.floor(this.timelineWidth / 110));
    const step = niceStep((this.viewEnd - this.viewStart) / count);
    const first = Math.ceil((this.viewStart - this.model.begin) / step) * step + this.model.begin;
    const ticks = [];
    for (let time = first; time <= this.viewEnd; time += step) ticks.push(time);
    return ticks;
  }

  drawGrid(context, theme) {
    context.strokeStyle = theme.border;
    context.lineWidth = 1;
    context.beginPath();
    for (const time of this.ticks()) {
      const x = Math.round(this.xOf(time)) + 0.5;
      context.moveTo(x, AXIS_HEIGHT);
      context.lineTo(x, this.height);
    }
    context.stroke();
  }

  drawAxis(context, theme) {
    context.fillStyle = theme.alternate;
    context.fillRect(0, 0, this.width, AXIS_HEIGHT);
    context.fillStyle = theme.muted;
    context.textAlign = 'left';
    for (const time of this.ticks()) {
      const x = this.xOf(time);
      // A label cut by the right edge says less than no label.
      if (x < this.width - 44) context.fillText(formatDuration(time - this.model.begin), x + 3, AXIS_HEIGHT / 2);
    }
    if (this.mode === 'waterfall') {
      context.fillStyle = theme.alternate;
      context.fillRect(0, 0, this.timelineLeft, AXIS_HEIGHT);
      context.fillStyle = theme.muted;
      context.fillText(`${this.model.spans.length} spans`, 8, AXIS_HEIGHT / 2);
    }
    context.fillStyle = theme.border;
    context.fillRect(0, AXIS_HEIGHT - 1, this.width, 1);
  }

  visibleRows() {
    const first = Math.max(0, Math.floor(this.scrollTop / this.rowHeight));
    const last = Math.min(this.rowCount - 1, Math.floor((this.scrollTop + this.height - AXIS_HEIGHT) / this.rowHeight));
    return [first, last];
  }

  drawFlame(context, theme) {
    const [firstRow, lastRow] = this.visibleRows();
    const rowHeight = this.rowHeight;
    const labels = [];
    for (let rowIndex = firstRow; rowIndex <= lastRow; rowIndex++) {
      const y = AXIS_HEIGHT + rowIndex * rowHeight - this.scrollTop;
      for (const span of this.model.rows[rowIndex]) {
        if (span.end < this.viewStart || span.start > this.viewEnd) continue;
        const x0 = Math.max(this.xOf(span.start), -2);
        const x1 = Math.min(this.xOf(span.end), this.width + 2);
        const width = Math.max(x1 - x0, 1);
        const drawnWidth = width > 3 ? width - 1 : width;
        context.fillStyle = this.colorOf(span.service);
        context.fillRect(x0, y + 1, drawnWidth, rowHeight - 2);
        if (span.error) {
          context.fillStyle = theme.error;
          context.fillRect(x0, y + rowHeight - 4, drawnWidth, 3);
        }
        if (width > 28) labels.push([span, x0, y, width]);
      }
    }
    context.fillStyle = theme.text;
    context.textAlign = 'left';
    const characterWidth = context.measureText('abcdefghijklmnopqrstuvwxyz0123456789').width / 36 * 1.08;
    for (const [span, x0, y, width] of labels) {
      const left = Math.max(x0, 0);
      const room = Math.min(x0 + width, this.width) - left - 8;
      const text = span.resource && span.resource !== span.name ? `${span.name} · ${span.resource}` : span.name;
      context.fillText(fit(text, room, characterWidth), left + 4, y + rowHeight / 2);
    }
    this.outline(context, this.hovered, theme.muted, 1);
    this.outline(context, this.selected, theme.selection, 2);
  }

  outline(context, span, color, lineWidth) {
    if (!span) return;
    const y = this.rowTop(span);
    if (y + this.rowHeight < AXIS_HEIGHT || y > this.height) return;
    context.strokeStyle = color;
    context.lineWidth = lineWidth;
    if (this.mode === 'flame') {
      const x0 = Math.max(this.xOf(span.start), -2);
      const x1 = Math.min(this.xOf(span.end), this.width + 2);
      context.strokeRect(x0 + 0.5, y + 1.5, Math.max(x1 - x0, 2) - 1, this.rowHeight - 3);
    } else {
      context.strokeRect(1, y + 0.5, this.width - 2, this.rowHeight - 1);
    }
  }

  drawWaterfall(context, theme) {
    const [firstRow, lastRow] = this.visibleRows();
    const rowHeight = this.rowHeight;
    const left = this.timelineLeft;
    const characterWidth = context.measureText('abcdefghijklmnopqrstuvwxyz0123456789').width / 36 * 1.08;
    context.fillStyle = theme.alternate;
    context.fillRect(0, AXIS_HEIGHT, left, this.height);
    for (let index = firstRow; index <= lastRow; index++) {
      const span = this.visible[index];
      const y = AXIS_HEIGHT + index * rowHeight - this.scrollTop;
      const middle = y + rowHeight / 2;
      if (span === this.selected || span === this.hovered) {
        context.fillStyle = theme.alternate;
        context.fillRect(left, y, this.width - left, rowHeight);
      }
      // Label column: indentation shows depth (capped so deep traces stay readable).
      const indent = this.indentOf(span);
      if (span.children.length) {
        context.fillStyle = theme.muted;
        context.textAlign = 'center';
        context.fillText(this.collapsed.has(span) ? '\u25b8' : '\u25be', indent - 7, middle);
      }
      context.fillStyle = this.colorOf(span.service);
      context.fillRect(indent, y + 6, 8, rowHeight - 12);
      context.fillStyle = span.error ? theme.error : theme.text;
      context.textAlign = 'left';
      const nameRoom = left - indent - 20;
      const folded = this.collapsed.has(span) ? ` (+${this.collapsed.get(span)})` : '';
      const name = fit(`${span.service} ${span.name}${folded}`, nameRoom, characterWidth);
      context.fillText(name, indent + 12, middle);
      // Bar and duration.
      if (span.end >= this.viewStart && span.start <= this.viewEnd) {
        const x0 = Math.max(this.xOf(span.start), left);
        const x1 = Math.min(this.xOf(span.end), this.width);
        const width = Math.max(x1 - x0, 1);
        context.fillStyle = this.colorOf(span.service);
        context.fillRect(x0, y + 4, width, rowHeight - 8);
        if (span.error) {
          context.fillStyle = theme.error;
          context.fillRect(x0, y + rowHeight - 6, width, 2);
        }
        const label = `${formatDuration(span.duration)}  ${span.resource}`;
        context.fillStyle = theme.muted;
        const after = this.width - (x1 + 6) - 4;
        if (after > 60) context.fillText(fit(label, after, characterWidth), x1 + 6, middle);
        else {
          context.textAlign = 'right';
          context.fillText(fit(label, x0 - left - 10, characterWidth), x0 - 6, middle);
        }
      }
    }
    context.fillStyle = theme.border;
    context.fillRect(left - 1, AXIS_HEIGHT, 1, this.height);
    this.outline(context, this.selected, theme.selection, 2);
  }

  // The critical path: a dark line along the top of each stretch of a bar
  // that the trace's duration waited on.
  drawCriticalPath(context, theme) {
    const left = this.timelineLeft;
    context.fillStyle = theme.critical;
    for (const {span, start, end} of this.model.criticalPath) {
      const y = this.rowTop(span);
      if (y + this.rowHeight < AXIS_HEIGHT || y > this.height || end < this.viewStart || start > this.viewEnd) continue;
      const x0 = Math.max(this.xOf(start), left);
      const x1 = Math.min(this.xOf(end), this.width);
      context.fillRect(x0, y + (this.mode === 'flame' ? 2 : 4), Math.max(x1 - x0, 1), 3);
    }
  }

  // The whole trace in miniature, drawn once per size and theme; each frame
  // only adds the shade outside the current window.
  drawMinimap(theme) {
    const ratio = window.devicePixelRatio || 1;
    const context = this.minimap.getContext('2d');
    if (!this.minimapImage) this.minimapImage = this.renderMinimapImage(theme, ratio);
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.drawImage(this.minimapImage, 0, 0);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    const total = this.model.end - this.model.begin;
    const x0 = ((this.viewStart - this.model.begin) / total) * this.width;
    const x1 = ((this.viewEnd - this.model.begin) / total) * this.width;
    context.fillStyle = 'rgba(128, 128, 128, 0.35)';
    context.fillRect(0, 0, x0, MINIMAP_HEIGHT);
    context.fillRect(x1, 0, this.width - x1, MINIMAP_HEIGHT);
    context.strokeStyle = theme.selection;
    context.lineWidth = 1;
    context.strokeRect(x0 + 0.5, 0.5, Math.max(x1 - x0 - 1, 1), MINIMAP_HEIGHT - 1);
  }

  renderMinimapImage(theme, ratio) {
    const image = document.createElement('canvas');
    image.width = this.minimap.width;
    image.height = this.minimap.height;
    const context = image.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = theme.background;
    context.fillRect(0, 0, this.width, MINIMAP_HEIGHT);
    const total = this.model.end - this.model.begin;
    const rowHeight = Math.min(8, (MINIMAP_HEIGHT - 4) / Math.max(1, this.model.rows.length));
    for (const span of this.model.spans) {
      context.fillStyle = this.colorOf(span.service);
      context.fillRect(((span.start - this.model.begin) / total) * this.width, 2 + span.row * rowHeight,
        Math.max((span.duration / total) * this.width, 0.5), Math.max(rowHeight - 0.5, 1));
    }
    return image;
  }

  // --- input ---------------------------------------------------------------

  installPointer() {
    const canvas = this.canvas;
    const position = (event) => {
      const box = canvas.getBoundingClientRect();
      return [event.clientX - box.left, event.clientY - box.top];
    };
    canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      const [x, y] = position(event);
      this.pointer = {x, y, viewStart: this.viewStart, viewEnd: this.viewEnd, scrollTop: this.scrollTop, dragged: false};
      canvas.setPointerCapture(event.pointerId);
    });
    canvas.addEventListener('pointermove', (event) => {
      const [x, y] = position(event);
      if (this.pointer) {
        const dx = x - this.pointer.x;
        const dy = y - this.pointer.y;
        if (Math.abs(dx) > 3 || Math.abs(dy) > 3) this.pointer.dragged = true;
        if (!this.pointer.dragged) return;
        const shift = (-dx * (this.pointer.viewEnd - this.pointer.viewStart)) / this.timelineWidth;
        this.scrollTop = Math.min(this.maxScroll, Math.max(0, this.pointer.scrollTop - dy));
        this.setView(this.pointer.viewStart + shift, this.pointer.viewEnd + shift);
        this.hideTip();
        return;
      }
      this.hover(this.spanAt(x, y), x, y);
    });
    canvas.addEventListener('pointerup', (event) => {
      const pointer = this.pointer;
      this.pointer = null;
      if (!pointer || pointer.dragged) return;
      const [x, y] = position(event);
      const span = this.spanAt(x, y);
      if (span && this.onToggle(span, x)) this.toggle(span);
      else if (span) this.select(span);
    });
    canvas.addEventListener('pointerleave', () => { if (!this.pointer) this.hover(null); });
    canvas.addEventListener('dblclick', (event) => {
      const [x, y] = position(event);
      const span = this.spanAt(x, y);
      if (span) this.zoomTo(span);
    });
    canvas.addEventListener('wheel', (event) => {
      const [x] = position(event);
      if (event.ctrlKey || event.metaKey) {
        event.preventDefault();
        const anchor = x >= this.timelineLeft ? this.timeAt(x) : undefined;
        this.zoomBy(Math.exp(event.deltaY * 0.002), anchor);
      } else if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
        event.preventDefault();
        const delta = event.shiftKey ? event.deltaY : event.deltaX;
        const shift = (delta * (this.viewEnd - this.viewStart)) / this.timelineWidth;
        this.setView(this.viewStart + shift, this.viewEnd + shift);
      } else if (this.maxScroll > 0) {
        const before = this.scrollTop;
        this.scrollBy(event.deltaY);
        // Let the page scroll once the timeline reached its top or bottom.
        if (this.scrollTop !== before) event.preventDefault();
      }
    }, {passive: false});
  }

  hover(span, x, y) {
    if (span !== this.hovered) {
      this.hovered = span;
      this.scheduleDraw();
    }
    this.canvas.style.cursor = span ? 'pointer' : 'default';
    if (!span) { this.hideTip(); return; }
    this.tip.replaceChildren(
      h('div', {}, h('strong', {}, span.name)),
      h('div', {}, `${span.service} · ${span.resource}`),
      h('div', {}, `${formatDuration(span.duration)} (self ${formatDuration(span.selfTime)})${span.error ? ' · error' : ''}${span.critical ? ' · on the critical path' : ''}`));
    this.tip.hidden = false;
    const tipWidth = Math.min(420, this.tip.offsetWidth || 300);
    this.tip.style.left = `${Math.max(0, Math.min(x + 14, this.width - tipWidth - 4))}px`;
    this.tip.style.top = `${this.canvas.offsetTop + y + 16}px`;
  }

  hideTip() {
    this.tip.hidden = true;
  }

  installKeyboard() {
    this.canvas.addEventListener('keydown', (event) => {
      const span = this.selected;
      const root = this.model.order[0];
      const flame = this.mode === 'flame';
      const row = span ? this.visibleIndex.get(span) : undefined;
      // In the waterfall, Left and Right fold and unfold first, as in a tree view.
      const folds = span && !flame && span.children.length > 0;
      let next = null;
      switch (event.key) {
        case 'ArrowUp': next = span ? (flame ? span.parent : this.visible[row - 1]) : root; break;
        case 'ArrowDown': next = span ? (flame ? span.children[0] : this.visible[row + 1]) : root; break;
        case 'ArrowLeft':
          if (folds && !this.collapsed.has(span)) this.toggle(span, true);
          else next = span ? (flame ? sibling(this.model, span, -1) : span.parent) : root;
          break;
        case 'ArrowRight':
          if (folds && this.collapsed.has(span)) this.toggle(span, false);
          else next = span ? (flame ? sibling(this.model, span, 1) : span.children[0]) : root;
          break;
        case 'Home': next = root; break;
        case 'Enter': next = span || root; break;
        case '+': case '=': this.zoomBy(0.5); break;
        case '-': case '_': this.zoomBy(2); break;
        case '0': this.resetZoom(); break;
        default: return;
      }
      event.preventDefault();
      if (next) this.select(next);
    });
  }

  installMinimap() {
    const minimap = this.minimap;
    let drag = null;
    const timeAt = (event) => {
      const box = minimap.getBoundingClientRect();
      const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      return this.model.begin + fraction * (this.model.end - this.model.begin);
    };
    minimap.addEventListener('pointerdown', (event) => {
      drag = {from: timeAt(event), x: event.clientX};
      minimap.setPointerCapture(event.pointerId);
    });
    minimap.addEventListener('pointermove', (event) => {
      if (!drag || Math.abs(event.clientX - drag.x) < 3) return;
      const to = timeAt(event);
      this.setView(Math.min(drag.from, to), Math.max(drag.from, to));
    });
    minimap.addEventListener('pointerup', (event) => {
      if (drag && Math.abs(event.clientX - drag.x) < 3) {
        // A click centres the current window there.
        const width = this.viewEnd - this.viewStart;
        this.setView(drag.from - width / 2, drag.from + width / 2);
      }
      drag = null;
    });
  }
}

// A subtree is contiguous in depth-first order: no recursion, so a trace
// thousands of levels deep cannot exhaust the stack.
function countDescendants(model, span) {
  let end = span.order + 1;
  while (end < model.order.length && model.order[end].depth > span.depth) end++;
  return end - span.order - 1;
}

function sibling(model, span, direction) {
  const siblings = span.parent ? span.parent.children : model.roots;
  return siblings[siblings.indexOf(span) + direction] || null;
}

// 1, 2 or 5 times a power of ten, at least `raw`.
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  for (const multiple of [1, 2, 5, 10]) if (multiple * power >= raw) return multiple * power;
  return 10 * power;
}

// Cut a label to the room it has, estimating the width per character rather
// than measuring every label.
function fit(text, room, characterWidth) {
  const characters = Math.floor(room / characterWidth);
  if (characters <= 1) return '';
  return text.length <= characters ? text : `${text.slice(0, characters - 1)}…`;
}
