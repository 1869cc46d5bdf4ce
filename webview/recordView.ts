/**
 * The record view's UI (runs in the webview): each record's text with its entity mentions
 * highlighted and its relations drawn as labelled arcs from head to tail, coloured like the inline
 * decorations; a filter, a progress bar and keyboard-first curation. Only the chunks of records
 * near the viewport are in the DOM, between two spacers that stand for the rest (their heights are
 * the chunks' measured heights, estimated for those never shown), so a 50k-record file opens at
 * once and scrolling lays out a few dozen records, not the file. Talks to the
 * host only through src/protocol/recordView.ts (every message validated).
 */
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import {
  RecordViewSchema,
  RecordView,
  RecordViewAction,
  ViewHostMessageSchema,
  ViewMessage,
} from '../src/protocol/recordView';

declare function acquireVsCodeApi(): {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
};
const vscode = acquireVsCodeApi();
const send = (m: ViewMessage) => vscode.postMessage(m);

const CHUNK = 5;
/** A record's height before it was ever shown (px). */
const ESTIMATE = 150;
/** How far beyond the viewport, above and below, chunks are kept in the DOM (px). */
const MARGIN = 1200;
const ENTITY_COLORS = 8;
/** Above this many relations a record (a document) draws only the selected relation's arc. */
const DENSE_ARCS = 8;

type Filter = {
  status: 'all' | 'pending' | 'reviewed' | 'disagree' | 'ignored';
  label: string;
  source: string;
  /** A regular expression over the record's text and its entities' names ('' = none). */
  search?: string;
  /** Only these lines (a click in the panel's evaluation: a confusion cell, a relation), and what they are. */
  only?: { lines: number[]; title: string } | null;
};

/**
 * The file's record views by line, as they came: JSON text (see RecordItem), parsed and checked
 * against the protocol's schema when first used (`view`). A 50k-record file is not parsed at once,
 * and its views stay strings in the heap, which the garbage collector does not trace into.
 */
const raw = new Map<number, string>();
/** Views parsed and checked (null: not a valid record view), in the order they were parsed. */
const checked = new Map<number, RecordView | null>();
/** How many parsed views are kept: more than the DOM ever shows, far fewer than a large file has. */
const KEEP_PARSED = 4000;
const reviewed = new Set<number>();

/** Labels ('l' + label) and sources ('s' + source) of the views parsed so far, numbered from 1. */
const facetIds = new Map<string, number>();
/**
 * What the filter reads of each view parsed since it came, kept when the view itself has left
 * `checked`, as a string (which the collector does not trace into): its first character's code
 * is 1 (reviewed) + 2 (differs from gold), then one character per label and per source, the code
 * its number in `facetIds`. So a filter parses each view once, not at each change.
 */
const facets = new Map<number, string>();
const REVIEWED = 1;
const DISAGREES = 2;
const IGNORED = 4;

/** Whether a curator set the record, or one of its relations, aside. */
const ignoredAny = (v: RecordView) =>
  !!v.ignored || v.triples.some((t) => t.decision === 'ignored');

/** Whether a record's relations differ from gold anywhere. */
const disagrees = (v: RecordView) =>
  v.triples.some(
    (t) => t.status === 'wrong-label' || t.status === 'extra' || t.status === 'missing',
  );

function facetsOf(v: RecordView): string | undefined {
  let codes = '';
  for (const key of [...v.triples.map((t) => `l${t.label}`), ...v.sources.map((s) => `s${s}`)]) {
    let id = facetIds.get(key);
    if (id === undefined) facetIds.set(key, (id = facetIds.size + 1));
    // More than a character can number (never in practice): this view is parsed at each filter.
    if (id > 0xffff) return undefined;
    codes += String.fromCharCode(id);
  }
  return (
    String.fromCharCode(
      (v.reviewed ? REVIEWED : 0) | (disagrees(v) ? DISAGREES : 0) | (ignoredAny(v) ? IGNORED : 0),
    ) + codes
  );
}

function view(line: number): RecordView | undefined {
  let v = checked.get(line);
  if (v === undefined) {
    const text = raw.get(line);
    let data: unknown;
    try {
      data = text === undefined ? undefined : JSON.parse(text);
    } catch {
      data = undefined;
    }
    const r = RecordViewSchema.safeParse(data);
    v = r.success ? r.data : null;
    const f = v ? facetsOf(v) : undefined;
    if (f !== undefined) facets.set(line, f);
    // The oldest parsed goes (parsed again if it is needed again).
    if (checked.size >= KEEP_PARSED) checked.delete(checked.keys().next().value!);
    checked.set(line, v);
  }
  return v ?? undefined;
}
const invalid = new Set<number>();
let labels: string[] = [];
/** Names of label ids (the relation set's, e.g. DocRED's P-numbers): shown instead of the ids. */
let labelNames: Record<string, string> = {};
const shownLabel = (l: string) => (Object.hasOwn(labelNames, l) ? labelNames[l]! : l);
let file = '';
let order: number[] = [];
let filter: Filter = { status: 'all', label: '', source: '' };
let current = 0;
let relation = 0;
/** The other end of a range of records selected with Shift+J / Shift+K (an index in `order`). */
let anchor: number | undefined;

/** The selected records' indices in `order`: the range from the anchor, else the current one. */
function selectedRange(): [number, number] {
  return anchor === undefined
    ? [current, current]
    : [Math.min(anchor, current), Math.max(anchor, current)];
}
/** Entity picked with the mouse as the head of a new relation (line, entity). */
let picked: { line: number; entity: number } | undefined;
/** The chunks in the DOM, by chunk number (records CHUNK·k … CHUNK·k + CHUNK − 1 of `order`). */
const chunks = new Map<number, HTMLElement>();
/** Each chunk's height (px): measured while it is in the DOM, estimated before it ever was. */
let heights: number[] = [];
const spacers = { top: document.createElement('div'), bottom: document.createElement('div') };
spacers.top.className = spacers.bottom.className = 'spacer';

/**
 * How long the view's own work took (message handling, rendering while scrolling), kept for the
 * benchmark (bench/recordView.ts) as `window.relationLensWork`: the last 2,000 entries.
 */
type Work = Array<{ what: string; at: number; ms: number }>;
declare global {
  interface Window {
    relationLensWork?: Work;
  }
}
const work: Work = [];
window.relationLensWork = work;
function timed(what: string, fn: () => void): void {
  const t0 = performance.now();
  fn();
  work.push({ what, at: t0, ms: performance.now() - t0 });
  if (work.length > 2000) work.splice(0, work.length - 2000);
}

function h(
  tag: string,
  attrs: Record<string, string | undefined> = {},
  ...children: Array<Node | string>
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** The search's expression (case-insensitive; null: none, or not a valid expression). */
let searchRe: RegExp | null = null;
let onlyLines: Set<number> | null = null;
/** Each record's searchable text (its text, then its entities' names), made when first searched. */
const searchable = new Map<number, string>();

function searchTextOf(line: number): string {
  let t = searchable.get(line);
  if (t === undefined) {
    const v = view(line);
    t = v
      ? [v.segments.map((s) => s.text).join(''), ...v.entities.map((e) => e.name)].join('\n')
      : '';
    searchable.set(line, t);
  }
  return t;
}

/** Applies the filter's search and line set (sets `searchRe`; says when the expression is bad). */
function compileFilter(): string | undefined {
  onlyLines = filter.only ? new Set(filter.only.lines) : null;
  searchRe = null;
  if (!filter.search) return undefined;
  try {
    searchRe = new RegExp(filter.search, 'iu');
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

function matches(line: number): boolean {
  if (onlyLines && !onlyLines.has(line)) return false;
  if (searchRe && !searchRe.test(searchTextOf(line))) return false;
  if (filter.status === 'all' && !filter.label && !filter.source) return true;
  let f = facets.get(line);
  if (f === undefined) {
    const v = view(line);
    if (!v) return false;
    // Parsed now, its facets with it — unless they could not be numbered.
    f = facets.get(line);
    if (f === undefined) return passes(v);
  }
  const flags = f.charCodeAt(0);
  if (filter.status === 'pending' && flags & REVIEWED) return false;
  if (filter.status === 'reviewed' && !(flags & REVIEWED)) return false;
  if (filter.status === 'disagree' && !(flags & DISAGREES)) return false;
  if (filter.status === 'ignored' && !(flags & IGNORED)) return false;
  const has = (key: string) => {
    const id = facetIds.get(key);
    return id !== undefined && f.includes(String.fromCharCode(id), 1);
  };
  if (filter.label && !has(`l${filter.label}`)) return false;
  if (filter.source && !has(`s${filter.source}`)) return false;
  return true;
}

/** `matches` read from the view itself (a view whose facets could not be numbered). */
function passes(v: RecordView): boolean {
  if (filter.status === 'pending' && v.reviewed) return false;
  if (filter.status === 'reviewed' && !v.reviewed) return false;
  if (filter.status === 'disagree' && !disagrees(v)) return false;
  if (filter.status === 'ignored' && !ignoredAny(v)) return false;
  if (filter.label && !v.triples.some((t) => t.label === filter.label)) return false;
  if (filter.source && !v.sources.includes(filter.source)) return false;
  return true;
}

function rebuildOrder(): void {
  order = [...raw.keys(), ...invalid].sort((a, b) => a - b).filter(matches);
  current = Math.min(current, Math.max(0, order.length - 1));
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
/** Text or an attribute value, escaped for HTML. */
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/**
 * Text the HTML parser would not give back as it is (it turns CR and CR LF into LF and drops NUL;
 * surrogates are left out too, to be safe): such a segment's span is made empty, with its index in
 * `data-seg`, and filled from script after parsing (`renderChunk`), so the DOM text — and the
 * offsets of a selection in it — stay the record's.
 */
const unparsable = (text: string) => /[\r\0\uD800-\uDFFF]/.test(text);

/** An element's HTML: attributes (escaped, undefined ones left out) and already-made inner HTML. */
function tag(name: string, attrs: Record<string, string | undefined>, inner: string): string {
  let a = '';
  for (const k in attrs) if (attrs[k] !== undefined) a += ` ${k}="${esc(attrs[k]!)}"`;
  return `<${name}${a}>${inner}</${name}>`;
}

/**
 * The record card's HTML: header, text with mentions (the arcs' SVG layer is added by
 * `drawArcs`), relation rows. Cards are made as HTML, a chunk at a time: the parser makes the
 * elements without a script object for each, so scrolling leaves the garbage collector less to do.
 */
function cardHtml(line: number, index: number): string {
  const v = view(line);
  const cls = `record${index === current ? ' current' : ''}${anchor !== undefined && index >= selectedRange()[0] && index <= selectedRange()[1] ? ' in-range' : ''}`;
  const at = { 'data-line': String(line), 'data-index': String(index) };
  if (!v)
    return tag(
      'div',
      { class: cls, ...at },
      tag('div', { class: 'head' }, `line ${line + 1}: not a valid record`),
    );
  const head = tag(
    'div',
    { class: 'head' },
    tag('span', { class: 'id' }, esc(v.id)) +
      tag('span', { class: 'line' }, ` line ${line + 1}`) +
      tag(
        'span',
        { class: `chip ${v.ignored ? 'ignored' : v.reviewed ? 'done' : 'todo'}` },
        v.ignored ? 'ignored' : v.reviewed ? 'reviewed' : `${v.pending} to review`,
      ),
  );
  let text = '';
  for (const [i, s] of v.segments.entries()) {
    const exact = !unparsable(s.text);
    const seg = exact ? undefined : String(i);
    const inner = exact ? esc(s.text) : '';
    if (s.sentence !== undefined)
      text += tag('span', { class: 'sent', title: `sentence ${s.sentence}` }, String(s.sentence));
    if (s.entity === undefined) {
      text += tag('span', { 'data-start': String(s.start), 'data-seg': seg }, inner);
      continue;
    }
    const e = v.entities[s.entity]!;
    text += tag(
      'span',
      {
        class: `mention ent${s.entity % ENTITY_COLORS}${picked?.line === line && picked.entity === s.entity ? ' picked' : ''}`,
        'data-start': String(s.start),
        'data-entity': String(s.entity),
        'data-mention': String(s.mention ?? 0),
        title: `${e.name}${e.type ? ` (${e.type})` : ''}`,
        'data-seg': seg,
      },
      inner,
    );
  }
  let rows = '';
  v.triples.forEach((t, i) => {
    const sel = index === current && i === relation;
    rows += tag(
      'div',
      {
        class: `rel st-${t.status}${t.decision === 'rejected' ? ' rejected' : t.decision === 'ignored' ? ' ignored' : ''}${sel ? ' selected' : ''}`,
        'data-relation': String(t.relation),
        'data-i': String(i),
      },
      esc(t.text),
    );
  });
  if (!v.triples.length) rows = tag('div', { class: 'none' }, 'no relations');
  return tag(
    'div',
    { class: `${cls}${v.reviewed ? ' reviewed' : ''}`, ...at },
    head +
      tag(
        'div',
        { class: 'textwrap' },
        tag('div', { class: 'text', 'data-line': String(line) }, text),
      ) +
      tag('div', { class: 'relations' }, rows),
  );
}

type Arc = {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  level: number;
  cls: string;
  label: string;
};
type ArcPlan = {
  wrap: HTMLElement;
  width: number;
  height: number;
  arcs: Arc[];
  pad: number;
  delta: number;
};

/**
 * Where each relation's arc goes, from head mention to tail mention, above the text: reads layout
 * only (all cards are measured before any is drawn, so the browser lays out once per chunk).
 */
function measureArcs(el: HTMLElement): ArcPlan | undefined {
  const v = view(Number(el.dataset['line']));
  const wrap = el.querySelector<HTMLElement>('.textwrap');
  if (!v || !wrap) return undefined;
  const base = wrap.getBoundingClientRect();
  const at = (entity: number, mention?: number) =>
    (
      (mention !== undefined &&
        wrap.querySelector<HTMLElement>(
          `.mention[data-entity="${entity}"][data-mention="${mention}"]`,
        )) ||
      wrap.querySelector<HTMLElement>(`.mention[data-entity="${entity}"]`)
    )?.getBoundingClientRect();
  // A dense record (a document) draws the arc of the selected relation only, when it is current.
  const line = Number(el.dataset['line']);
  const dense = v.triples.length > DENSE_ARCS;
  const shown = dense
    ? order[current] === line && v.triples[relation]
      ? [v.triples[relation]!]
      : []
    : v.triples;
  // Arcs that overlap horizontally on the same line stack upwards, one level each.
  const arcs: Arc[] = [];
  for (const t of shown) {
    const a = at(t.head, t.at?.[0]);
    const b = at(t.tail, t.at?.[1]);
    if (!a || !b) continue;
    const x1 = a.left + a.width / 2 - base.left;
    const x2 = b.left + b.width / 2 - base.left;
    const y1 = a.top - base.top;
    const y2 = b.top - base.top;
    const from = Math.min(x1, x2);
    const to = Math.max(x1, x2);
    const y = Math.min(y1, y2);
    const level =
      1 +
      Math.max(
        0,
        ...arcs
          .filter(
            (p) =>
              Math.abs(Math.min(p.y1, p.y2) - y) < 4 &&
              Math.min(p.x1, p.x2) <= to &&
              from <= Math.max(p.x1, p.x2),
          )
          .map((p) => p.level),
      );
    const cls = `st-${t.status}${t.decision === 'rejected' ? ' rejected' : t.decision === 'ignored' ? ' ignored' : ''}`;
    arcs.push({ x1, y1, x2, y2, level, cls, label: shownLabel(t.label) });
  }
  // Room above the first line for its highest arc and its label.
  const top = Math.min(...arcs.map((p) => Math.min(p.y1, p.y2)));
  const highest = Math.max(
    0,
    ...arcs.filter((p) => Math.min(p.y1, p.y2) === top).map((p) => p.level),
  );
  const pad = highest ? 10 + highest * 12 + 16 : 8;
  const now = parseFloat(getComputedStyle(wrap).paddingTop) || 0;
  return { wrap, width: base.width, height: base.height, arcs, pad, delta: pad - now };
}

/** Draws a measured plan: the padding first, every y moved by the change it makes. */
function drawArcs(p: ArcPlan): void {
  p.wrap.querySelector('svg')?.remove();
  p.wrap.style.paddingTop = `${p.pad}px`;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'arcs');
  svg.setAttribute('width', String(p.width));
  svg.setAttribute('height', String(p.height + p.delta));
  const add = (tag: string, attrs: Record<string, string>, text?: string) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
  };
  for (const a of p.arcs) {
    const y1 = a.y1 + p.delta;
    const y2 = a.y2 + p.delta;
    const lift = 10 + a.level * 12;
    const y = Math.min(y1, y2);
    const ctrl = y - lift / 0.75;
    add('path', {
      d: `M ${a.x1} ${y1} C ${a.x1} ${ctrl}, ${a.x2} ${ctrl}, ${a.x2} ${y2 - 2}`,
      class: `arc ${a.cls}`,
    });
    add('path', {
      d: `M ${a.x2 - 4} ${y2 - 8} L ${a.x2} ${y2 - 2} L ${a.x2 + 4} ${y2 - 8}`,
      class: `arrow ${a.cls}`,
    });
    // The curve's highest point is 3/4 of the way to its control points.
    add(
      'text',
      { x: String((a.x1 + a.x2) / 2), y: String(y - lift - 3), class: `arclabel ${a.cls}` },
      a.label,
    );
  }
  p.wrap.prepend(svg);
}

/** Measures every card of a list, then draws them all. */
function layoutArcs(cards: HTMLElement[]): void {
  const plans = cards.map(measureArcs);
  for (const p of plans) if (p) drawArcs(p);
}

function renderChunk(chunk: HTMLElement): void {
  const from = Number(chunk.dataset['k']) * CHUNK;
  let html = '';
  for (let i = from; i < Math.min(order.length, from + CHUNK); i++) html += cardHtml(order[i]!, i);
  chunk.innerHTML = html;
  for (const el of chunk.querySelectorAll<HTMLElement>('[data-seg]')) {
    const line = Number(el.closest<HTMLElement>('.record')?.dataset['line']);
    el.textContent = view(line)?.segments[Number(el.dataset['seg'])]?.text ?? '';
  }
}

/** The record cards of `chunks`. */
const cardsOf = (chunks: Iterable<HTMLElement>) =>
  [...chunks].flatMap((c) => Array.from(c.children) as HTMLElement[]);

/** Reads the heights of the chunks in the DOM (a layout read). */
function measureChunks(): void {
  for (const [k, c] of chunks) heights[k] = c.getBoundingClientRect().height;
}

const sum = (from: number, to: number) => {
  let y = 0;
  for (let k = from; k < to; k++) y += heights[k]!;
  return y;
};

/**
 * Puts the chunks within MARGIN of the viewport (and chunk `also`) in the DOM and takes the others
 * out, the spacers standing for them. Reads layout first (the heights of the chunks in the DOM and
 * where the list starts), then writes: new chunks are measured for their arcs together, once.
 */
function updateWindow(also?: number): void {
  const n = heights.length;
  measureChunks();
  // The viewport in list coordinates (0: the top of the first chunk).
  const origin = spacers.top.getBoundingClientRect().top;
  const lo = -origin - MARGIN;
  const hi = -origin + window.innerHeight + MARGIN;
  let first = n;
  let last = 0;
  for (let k = 0, y = 0; k < n && y < hi; y += heights[k]!, k++)
    if (y + heights[k]! > lo) {
      first = Math.min(first, k);
      last = k + 1;
    }
  if (also !== undefined && also < n) {
    first = Math.min(first, also);
    last = Math.max(last, also + 1);
  }
  if (first >= last) first = last = 0;
  for (const [k, c] of chunks)
    if (k < first || k >= last) {
      c.remove();
      chunks.delete(k);
    }
  const added: HTMLElement[] = [];
  let next: Element = spacers.bottom;
  for (let k = last - 1; k >= first; k--) {
    let c = chunks.get(k);
    if (!c) {
      c = h('div', { class: 'chunk', 'data-k': String(k) });
      renderChunk(c);
      chunks.set(k, c);
      next.before(c);
      added.push(c);
    }
    next = c;
  }
  spacers.top.style.height = `${sum(0, first)}px`;
  spacers.bottom.style.height = `${sum(last, n)}px`;
  layoutArcs(cardsOf(added));
}

let pending = false;
window.addEventListener(
  'scroll',
  () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      timed('scroll', () => updateWindow());
    });
  },
  { passive: true },
);

function renderList(): void {
  const list = document.getElementById('list')!;
  for (const c of chunks.values()) c.remove();
  chunks.clear();
  heights = [];
  for (let from = 0; from < order.length; from += CHUNK)
    heights.push(Math.min(CHUNK, order.length - from) * ESTIMATE);
  list.replaceChildren(spacers.top, spacers.bottom);
  if (!order.length) list.append(h('div', { class: 'none' }, 'no record matches the filter'));
  updateWindow();
  renderHeader();
}

/** The chunk in the DOM that holds the record at `index` of `order`, if it is in the DOM. */
function chunkOf(index: number): HTMLElement | undefined {
  return chunks.get(Math.floor(index / CHUNK));
}

/**
 * Brings the record at `index` into the DOM: scrolls to where its chunk stands (the spacers'
 * heights) and fills the viewport around it.
 */
function reveal(index: number): void {
  const k = Math.floor(index / CHUNK);
  if (chunks.has(k)) return;
  measureChunks();
  const origin = spacers.top.getBoundingClientRect().top + window.scrollY;
  window.scrollTo(0, origin + sum(0, k));
  updateWindow(k);
}

/** Re-renders the records of `lines` where they are on screen. */
function refreshLines(lines: number[]): void {
  const want = new Set(lines);
  const stale = new Set<HTMLElement>();
  order.forEach((l, i) => {
    if (want.has(l)) {
      const c = chunkOf(i);
      if (c) stale.add(c);
    }
  });
  for (const c of stale) renderChunk(c);
  layoutArcs(cardsOf(stale));
  renderHeader();
}

function renderHeader(): void {
  const total = raw.size;
  const done = reviewed.size;
  const bar = document.getElementById('progress');
  if (bar) {
    bar.querySelector<HTMLElement>('.fill')!.style.width = `${total ? (100 * done) / total : 0}%`;
    bar.querySelector<HTMLElement>('.label')!.textContent =
      `${done} / ${total} reviewed · ${order.length} shown${invalid.size ? ` · ${invalid.size} invalid line(s)` : ''}`;
  }
}

function select(index: number, rel = 0, scroll = true, extend = false): void {
  const [lo0, hi0] = selectedRange();
  const before = order[current];
  if (extend) anchor ??= current;
  else anchor = undefined;
  current = Math.max(0, Math.min(index, order.length - 1));
  const v = view(order[current]!);
  relation = v ? Math.max(0, Math.min(rel, v.triples.length - 1)) : 0;
  const [lo, hi] = selectedRange();
  const lines = order.slice(Math.min(lo0, lo), Math.max(hi0, hi) + 1);
  if (before !== undefined) lines.push(before);
  if (scroll) reveal(current);
  refreshLines(lines);
  vscode.setState({ current, relation, filter });
  if (scroll)
    document
      .querySelector(`.record[data-index="${current}"]`)
      ?.scrollIntoView({ block: 'nearest' });
}

function currentTriple(): { line: number; relation: number } | undefined {
  const line = order[current];
  if (line === undefined) return undefined;
  const t = view(line)?.triples[relation];
  return t ? { line, relation: t.relation } : undefined;
}

/** Offsets of the DOM selection inside one record's text (UTF-16, as the schema says). */
function selectedSpan(): { line: number; start: number; end: number } | undefined {
  const s = window.getSelection();
  if (!s || s.isCollapsed || !s.rangeCount) return undefined;
  const r = s.getRangeAt(0);
  const at = (node: Node, offset: number) => {
    const span = (
      node.nodeType === Node.TEXT_NODE ? node.parentElement : (node as HTMLElement)
    )?.closest<HTMLElement>('[data-start]');
    return span
      ? Number(span.dataset['start']) + (node.nodeType === Node.TEXT_NODE ? offset : 0)
      : undefined;
  };
  const text = (r.startContainer.parentElement ?? undefined)?.closest<HTMLElement>('.text');
  const start = at(r.startContainer, r.startOffset);
  const end = at(r.endContainer, r.endOffset);
  if (!text || start === undefined || end === undefined || end <= start) return undefined;
  return { line: Number(text.dataset['line']), start, end };
}

/**
 * What each record-view action does. The keys are VS Code keybindings (package.json, remappable):
 * the webview forwards every key to VS Code, which runs the command bound to it, and the host
 * sends the action here.
 */
const ACTIONS: Record<RecordViewAction, () => void> = {
  next: () => select(current + 1),
  previous: () => select(current - 1),
  nextRelation: () => select(current, relation + 1),
  previousRelation: () => select(current, relation - 1),
  first: () => select(0),
  last: () => select(order.length - 1),
  accept: () => curateCurrent('accept'),
  ignore: () => curateCurrent('ignore'),
  ignoreRecord: () => {
    const line = order[current];
    if (line !== undefined) send({ type: 'ignoreRecord', line });
  },
  reject: () => curateCurrent('reject'),
  relabel: () => curateCurrent('relabel'),
  delete: () => curateCurrent('delete'),
  addRelation: () => {
    const line = order[current];
    if (line !== undefined) send({ type: 'addRelation', line });
  },
  addEntity: () => {
    const s = selectedSpan();
    if (s) send({ type: 'addEntity', ...s });
  },
  extendNext: () => select(current + 1, 0, true, true),
  extendPrevious: () => select(current - 1, 0, true, true),
  extract: () => {
    const [lo, hi] = selectedRange();
    const lines = order.slice(lo, hi + 1);
    if (lines.length) send({ type: 'extract', lines });
  },
  openText: () => {
    const line = order[current];
    if (line !== undefined) send({ type: 'openText', line });
  },
  nextInQueue: () => nextInQueue(),
  search: () => (document.getElementById('f-search') as HTMLElement | null)?.focus(),
};

function curateCurrent(action: 'accept' | 'reject' | 'ignore' | 'relabel' | 'delete'): void {
  const t = currentTriple();
  if (t) send({ type: 'curate', ...t, action });
}

/** The review queue: the least confident undecided prediction of the file. */
function nextInQueue(): void {
  let best: { index: number; rel: number; score: number } | undefined;
  order.forEach((line, index) => {
    view(line)?.triples.forEach((t, rel) => {
      if (t.source !== 'model' || (t.decision && t.decision !== 'pending')) return;
      const score = typeof t.score === 'number' ? t.score : -1;
      if (!best || score < best.score) best = { index, rel, score };
    });
  });
  if (best) select(best.index, best.rel);
}

function onClick(e: MouseEvent): void {
  const target = e.target as HTMLElement;
  if (target.closest('#f-only-clear')) {
    filter = { ...filter, only: null };
    send({ type: 'clearOnly' });
    return applyFilter();
  }
  const rec = target.closest<HTMLElement>('.record');
  if (!rec) return;
  const index = Number(rec.dataset['index']);
  const line = Number(rec.dataset['line']);
  const rel = target.closest<HTMLElement>('.rel');
  const mention = target.closest<HTMLElement>('.mention');
  if (mention) {
    const entity = Number(mention.dataset['entity']);
    if (picked && picked.line === line && picked.entity !== entity) {
      send({ type: 'addRelation', line, head: picked.entity, tail: entity });
      picked = undefined;
    } else
      picked = picked?.line === line && picked.entity === entity ? undefined : { line, entity };
  }
  select(index, rel ? Number(rel.dataset['i']) : index === current ? relation : 0, false);
}

/** A vscode-elements single select with its options ([value, label]). */
function selectBox(id: string, title: string, options: string[][]): HTMLElement {
  return h(
    'vscode-single-select',
    { id, title },
    ...options.map(([v, t]) => h('vscode-option', { value: v! }, t!)),
  );
}

function toolbar(): HTMLElement {
  const status = selectBox('f-status', 'Show records', [
    ['all', 'all records'],
    ['pending', 'to review'],
    ['reviewed', 'reviewed'],
    ['disagree', 'differing from gold'],
    ['ignored', 'ignored (set aside)'],
  ]);
  const label = selectBox('f-label', 'With a relation labelled', [['', 'any label']]);
  const source = selectBox('f-source', 'With a relation from', [
    ['', 'any source'],
    ['gold', 'gold'],
    ['model', 'model'],
    ['human', 'curator'],
  ]);
  const search = h('vscode-textfield', {
    id: 'f-search',
    placeholder: 'search text and entities (regex)',
    title:
      "A regular expression (case-insensitive) over each record's text and entity names; / focuses it",
    value: filter.search ?? '',
  }) as HTMLInputElement & { invalid?: boolean };
  const onChange = () => {
    filter = {
      ...filter,
      status: (status as HTMLSelectElement).value as Filter['status'],
      label: (label as HTMLSelectElement).value,
      source: (source as HTMLSelectElement).value,
      search: search.value,
    };
    applyFilter();
  };
  for (const s of [status, label, source]) s.addEventListener('change', onChange);
  let typing: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(onChange, 250);
  });
  const only = h('span', { id: 'f-only', class: 'only', hidden: '' });
  const progress = h(
    'div',
    { id: 'progress' },
    h('div', { class: 'fill' }),
    h('span', { class: 'label' }),
  );
  const keys = h(
    'div',
    { class: 'keys' },
    'j/k record · J/K select records · n/p relation · a accept · r reject · i ignore · I ignore the record · l relabel · Del delete · e add relation · m entity from selection · x extract (the selected records) · q next to review · o open text · / search',
  );
  return h(
    'div',
    { class: 'toolbar' },
    h('span', { id: 'file' }, file),
    status,
    label,
    source,
    search,
    only,
    progress,
    keys,
  );
}

/** Re-filters the list (after the filter changed) and shows the search's error and the line set. */
function applyFilter(): void {
  const problem = compileFilter();
  const search = document.getElementById('f-search') as
    (HTMLElement & { invalid?: boolean }) | null;
  if (search) {
    search.invalid = !!problem;
    search.title = problem
      ? `not a regular expression: ${problem}`
      : "A regular expression (case-insensitive) over each record's text and entity names; / focuses it";
  }
  const only = document.getElementById('f-only');
  if (only) {
    only.hidden = !filter.only;
    only.replaceChildren(
      ...(filter.only
        ? [
            h('span', {}, `${filter.only.title} (${filter.only.lines.length} record(s))`),
            h('button', { class: 'clear', title: 'show all records', id: 'f-only-clear' }, '×'),
          ]
        : []),
    );
  }
  rebuildOrder();
  renderList();
  select(0, 0);
}

function fillLabelFilter(): void {
  const sel = document.getElementById('f-label') as HTMLSelectElement | null;
  if (!sel) return;
  // The set's labels that have ids come from the records themselves (in the form they store).
  const named = new Set(Object.values(labelNames));
  const used = new Set<string>(labels.filter((l) => !named.has(l)));
  for (const key of facetIds.keys()) if (key.startsWith('l')) used.add(key.slice(1));
  const keep = sel.value;
  sel.replaceChildren(
    h('vscode-option', { value: '' }, 'any label'),
    ...[...used]
      .map((l) => [l, shownLabel(l)] as const)
      .sort((a, b) => a[1].localeCompare(b[1]))
      .map(([l, shown]) => h('vscode-option', { value: l }, shown === l ? l : `${shown} (${l})`)),
  );
  sel.value = keep;
}

window.addEventListener('message', (e: MessageEvent) => timed('message', () => onMessage(e)));

function onMessage(e: MessageEvent): void {
  const parsed = ViewHostMessageSchema.safeParse(e.data);
  if (!parsed.success) return;
  const m = parsed.data;
  if (m.type === 'focus') {
    const i = order.indexOf(m.line);
    if (i >= 0) select(i);
    return;
  }
  if (m.type === 'action') return ACTIONS[m.action]();
  if (m.type === 'only') {
    filter = { ...filter, only: m.lines ? { lines: m.lines, title: m.title } : null };
    return applyFilter();
  }
  file = m.file;
  labels = m.labels;
  labelNames = m.labelNames ?? {};
  if (m.reset) {
    raw.clear();
    searchable.clear();
    checked.clear();
    facets.clear();
    facetIds.clear();
    reviewed.clear();
    invalid.clear();
  }
  const lines: number[] = [];
  for (const it of m.items) {
    raw.set(it.line, it.view);
    searchable.delete(it.line);
    checked.delete(it.line);
    facets.delete(it.line);
    if (it.reviewed) reviewed.add(it.line);
    else reviewed.delete(it.line);
    invalid.delete(it.line);
    lines.push(it.line);
  }
  for (const l of m.invalid) {
    invalid.add(l);
    raw.delete(l);
    searchable.delete(l);
    checked.delete(l);
    facets.delete(l);
    reviewed.delete(l);
  }
  const before = order.join(',');
  rebuildOrder();
  if (m.reset || before !== order.join(',')) {
    document.getElementById('file')!.textContent = file;
    fillLabelFilter();
    renderList();
    select(current, relation, m.reset);
  } else refreshLines([...lines, ...m.invalid]);
}

// The keys themselves stay VS Code's (they reach it as keybindings); the view only keeps the
// arrow and page keys from scrolling the list under the selection, and says when a text field
// (the filter's pickers) has the focus, so that typing there is not taken for commands.
window.addEventListener('keydown', (e) => {
  if (isTextField(e.target)) return;
  if (['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', ' '].includes(e.key))
    e.preventDefault();
});
// Keys typed in a text field (the search, the pickers) are text: characters and editing keys stop
// here, before VS Code's webview forwards them to the keybindings (the record view's one-letter
// commands) — whatever the focus context key says at that moment. Escape leaves the field.
const EDITING_KEYS = new Set(['Backspace', 'Delete', 'Home', 'End', 'Enter', 'Escape']);
document.addEventListener('keydown', (e) => {
  if (!isTextField(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
  // Characters and editing keys only: F1, Tab and the like still reach VS Code.
  if (e.key.length !== 1 && !EDITING_KEYS.has(e.key) && !e.key.startsWith('Arrow')) return;
  e.stopPropagation();
  if (e.key === 'Escape') document.getElementById('list')?.focus();
});
const isTextField = (t: EventTarget | null): boolean =>
  t instanceof HTMLElement &&
  !!t.closest('vscode-single-select, vscode-textfield, input, textarea, [contenteditable="true"]');
let focusState = { view: false, input: false };
function sendFocus(view: boolean, input: boolean): void {
  if (view === focusState.view && input === focusState.input) return;
  focusState = { view, input };
  send({ type: 'focusState', view, input });
}
window.addEventListener('focus', () => sendFocus(true, isTextField(document.activeElement)));
window.addEventListener('blur', () => sendFocus(false, false));
window.addEventListener('focusin', (e) => sendFocus(true, isTextField(e.target)));
window.addEventListener('focusout', (e) => {
  if (e.relatedTarget) sendFocus(true, isTextField(e.relatedTarget));
});
if (document.hasFocus()) sendFocus(true, isTextField(document.activeElement));
window.addEventListener('resize', () =>
  timed('resize', () => {
    // The chunks that stay are laid out again here; those the update adds, by the update.
    const before = [...chunks.values()];
    updateWindow();
    layoutArcs(cardsOf(before.filter((c) => c.isConnected)));
  }),
);

const saved = vscode.getState() as
  { current?: number; relation?: number; filter?: Filter } | undefined;
if (saved?.filter) filter = saved.filter;
compileFilter();
current = saved?.current ?? 0;
relation = saved?.relation ?? 0;
const app = document.getElementById('app')!;
app.replaceChildren(toolbar(), h('div', { id: 'list', tabindex: '0' }));
app.addEventListener('click', onClick);
send({ type: 'ready' });
