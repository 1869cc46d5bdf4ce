/**
 * The record view's UI (runs in the webview): each record's text with its entity mentions
 * highlighted and its relations drawn as labelled arcs from head to tail, coloured like the inline
 * decorations; a filter, a progress bar and keyboard-first curation. Records are rendered in
 * chunks only while a chunk is near the viewport, so a 50k-record file opens at once. Talks to the
 * host only through src/protocol/recordView.ts (every message validated).
 */
import { RecordItem, ViewHostMessageSchema, ViewMessage } from '../src/protocol/recordView';

declare function acquireVsCodeApi(): {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
};
const vscode = acquireVsCodeApi();
const send = (m: ViewMessage) => vscode.postMessage(m);

const CHUNK = 40;
const ESTIMATE = 150;
const ENTITY_COLORS = 8;

type Filter = {
  status: 'all' | 'pending' | 'reviewed' | 'disagree';
  label: string;
  source: string;
};

const records = new Map<number, RecordItem['view']>();
const invalid = new Set<number>();
let labels: string[] = [];
let file = '';
let order: number[] = [];
let filter: Filter = { status: 'all', label: '', source: '' };
let current = 0;
let relation = 0;
/** Entity picked with the mouse as the head of a new relation (line, entity). */
let picked: { line: number; entity: number } | undefined;
let observer: IntersectionObserver | undefined;

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

function matches(line: number): boolean {
  const v = records.get(line);
  if (!v) return filter.status === 'all' && !filter.label && !filter.source;
  if (filter.status === 'pending' && v.reviewed) return false;
  if (filter.status === 'reviewed' && !v.reviewed) return false;
  if (
    filter.status === 'disagree' &&
    !v.triples.some(
      (t) => t.status === 'wrong-label' || t.status === 'extra' || t.status === 'missing',
    )
  )
    return false;
  if (filter.label && !v.triples.some((t) => t.label === filter.label)) return false;
  if (filter.source && !v.sources.includes(filter.source)) return false;
  return true;
}

function rebuildOrder(): void {
  order = [...records.keys(), ...invalid].sort((a, b) => a - b).filter(matches);
  current = Math.min(current, Math.max(0, order.length - 1));
}

/** The record card: header, text with mentions and an SVG layer for the arcs, relation rows. */
function card(line: number, index: number): HTMLElement {
  const v = records.get(line);
  const el = h('div', {
    class: `record${index === current ? ' current' : ''}`,
    'data-line': String(line),
    'data-index': String(index),
  });
  if (!v) {
    el.append(h('div', { class: 'head' }, `line ${line + 1}: not a valid record`));
    return el;
  }
  el.classList.toggle('reviewed', v.reviewed);
  el.append(
    h(
      'div',
      { class: 'head' },
      h('span', { class: 'id' }, v.id),
      h('span', { class: 'line' }, ` line ${line + 1}`),
      h(
        'span',
        { class: `chip ${v.reviewed ? 'done' : 'todo'}` },
        v.reviewed ? 'reviewed' : `${v.pending} to review`,
      ),
    ),
  );
  const text = h('div', { class: 'text', 'data-line': String(line) });
  for (const s of v.segments) {
    if (s.entity === undefined) {
      text.append(h('span', { 'data-start': String(s.start) }, s.text));
      continue;
    }
    const e = v.entities[s.entity]!;
    text.append(
      h(
        'span',
        {
          class: `mention ent${s.entity % ENTITY_COLORS}${picked?.line === line && picked.entity === s.entity ? ' picked' : ''}`,
          'data-start': String(s.start),
          'data-entity': String(s.entity),
          title: `${e.name}${e.type ? ` (${e.type})` : ''}`,
        },
        s.text,
      ),
    );
  }
  const wrap = h('div', { class: 'textwrap' }, text);
  el.append(wrap);
  const rows = h('div', { class: 'relations' });
  v.triples.forEach((t, i) => {
    const sel = index === current && i === relation;
    rows.append(
      h(
        'div',
        {
          class: `rel st-${t.status}${t.decision === 'rejected' ? ' rejected' : ''}${sel ? ' selected' : ''}`,
          'data-relation': String(t.relation),
          'data-i': String(i),
        },
        t.text,
      ),
    );
  });
  if (!v.triples.length) rows.append(h('div', { class: 'none' }, 'no relations'));
  el.append(rows);
  return el;
}

/** Arcs from each relation's head mention to its tail mention, above the text. */
function drawArcs(el: HTMLElement, again = true): void {
  const line = Number(el.dataset['line']);
  const v = records.get(line);
  const wrap = el.querySelector<HTMLElement>('.textwrap');
  if (!v || !wrap) return;
  wrap.querySelector('svg')?.remove();
  const base = wrap.getBoundingClientRect();
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'arcs');
  svg.setAttribute('width', String(base.width));
  svg.setAttribute('height', String(base.height));
  const first = (entity: number) =>
    wrap.querySelector<HTMLElement>(`.mention[data-entity="${entity}"]`)?.getBoundingClientRect();
  // Arcs that overlap horizontally on the same line stack upwards, one level each.
  const placed: Array<{ from: number; to: number; y: number; level: number }> = [];
  for (const t of v.triples) {
    const a = first(t.head);
    const b = first(t.tail);
    if (!a || !b) continue;
    const x1 = a.left + a.width / 2 - base.left;
    const y1 = a.top - base.top;
    const x2 = b.left + b.width / 2 - base.left;
    const y2 = b.top - base.top;
    const span = { from: Math.min(x1, x2), to: Math.max(x1, x2), y: Math.min(y1, y2) };
    const level =
      1 +
      Math.max(
        0,
        ...placed
          .filter((p) => Math.abs(p.y - span.y) < 4 && p.from <= span.to && span.from <= p.to)
          .map((p) => p.level),
      );
    placed.push({ ...span, level });
    const lift = 10 + level * 12;
    const top = span.y - lift / 0.75;
    const cls = `st-${t.status}${t.decision === 'rejected' ? ' rejected' : ''}`;
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', `M ${x1} ${y1} C ${x1} ${top}, ${x2} ${top}, ${x2} ${y2 - 2}`);
    path.setAttribute('class', `arc ${cls}`);
    svg.append(path);
    const head = document.createElementNS(ns, 'path');
    head.setAttribute('d', `M ${x2 - 4} ${y2 - 8} L ${x2} ${y2 - 2} L ${x2 + 4} ${y2 - 8}`);
    head.setAttribute('class', `arrow ${cls}`);
    svg.append(head);
    // The curve's highest point is 3/4 of the way to its control points.
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', String((x1 + x2) / 2));
    label.setAttribute('y', String(span.y - lift - 3));
    label.setAttribute('class', `arclabel ${cls}`);
    label.textContent = t.label;
    svg.append(label);
  }
  wrap.prepend(svg);
  // Room above the first line for its highest arc and label (then drawn once more in place).
  const firstLine = Math.min(...placed.map((p) => p.y));
  const highest = Math.max(0, ...placed.filter((p) => p.y === firstLine).map((p) => p.level));
  const room = `${highest ? 10 + highest * 12 + 16 : 8}px`;
  if (again && wrap.style.paddingTop !== room) {
    wrap.style.paddingTop = room;
    drawArcs(el, false);
  }
}

function renderChunk(chunk: HTMLElement): void {
  const from = Number(chunk.dataset['from']);
  chunk.replaceChildren();
  chunk.style.height = '';
  for (let i = from; i < Math.min(order.length, from + CHUNK); i++)
    chunk.append(card(order[i]!, i));
  chunk.dataset['rendered'] = '1';
  for (const c of Array.from(chunk.children)) drawArcs(c as HTMLElement);
}

function unrenderChunk(chunk: HTMLElement): void {
  chunk.style.height = `${chunk.getBoundingClientRect().height}px`;
  chunk.replaceChildren();
  delete chunk.dataset['rendered'];
}

function renderList(): void {
  const list = document.getElementById('list')!;
  observer?.disconnect();
  observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const c = e.target as HTMLElement;
        if (e.isIntersecting && !c.dataset['rendered']) renderChunk(c);
        else if (!e.isIntersecting && c.dataset['rendered']) unrenderChunk(c);
      }
    },
    { rootMargin: '1200px 0px' },
  );
  const chunks: HTMLElement[] = [];
  for (let from = 0; from < order.length; from += CHUNK) {
    const c = h('div', { class: 'chunk', 'data-from': String(from) });
    c.style.height = `${Math.min(CHUNK, order.length - from) * ESTIMATE}px`;
    chunks.push(c);
  }
  list.replaceChildren(...chunks);
  if (!order.length) list.append(h('div', { class: 'none' }, 'no record matches the filter'));
  for (const c of chunks) observer.observe(c);
  renderHeader();
}

function chunkOf(index: number): HTMLElement | undefined {
  return (
    document.querySelector<HTMLElement>(`.chunk[data-from="${index - (index % CHUNK)}"]`) ??
    undefined
  );
}

/** Re-renders the records of `lines` where they are on screen. */
function refreshLines(lines: number[]): void {
  const want = new Set(lines);
  const chunks = new Set<HTMLElement>();
  order.forEach((l, i) => {
    if (want.has(l)) {
      const c = chunkOf(i);
      if (c?.dataset['rendered']) chunks.add(c);
    }
  });
  for (const c of chunks) renderChunk(c);
  renderHeader();
}

function renderHeader(): void {
  const all = [...records.values()];
  const done = all.filter((v) => v.reviewed).length;
  const bar = document.getElementById('progress');
  if (bar) {
    bar.querySelector<HTMLElement>('.fill')!.style.width =
      `${all.length ? (100 * done) / all.length : 0}%`;
    bar.querySelector<HTMLElement>('.label')!.textContent =
      `${done} / ${all.length} reviewed · ${order.length} shown${invalid.size ? ` · ${invalid.size} invalid line(s)` : ''}`;
  }
}

function select(index: number, rel = 0, scroll = true): void {
  const before = order[current];
  current = Math.max(0, Math.min(index, order.length - 1));
  const v = records.get(order[current]!);
  relation = v ? Math.max(0, Math.min(rel, v.triples.length - 1)) : 0;
  const lines = [order[current]!];
  if (before !== undefined) lines.push(before);
  const c = chunkOf(current);
  if (c && !c.dataset['rendered']) renderChunk(c);
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
  const t = records.get(line)?.triples[relation];
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

const KEYS: Record<string, () => void> = {
  j: () => select(current + 1),
  ArrowDown: () => select(current + 1),
  k: () => select(current - 1),
  ArrowUp: () => select(current - 1),
  n: () => select(current, relation + 1),
  ArrowRight: () => select(current, relation + 1),
  p: () => select(current, relation - 1),
  ArrowLeft: () => select(current, relation - 1),
  Home: () => select(0),
  End: () => select(order.length - 1),
  a: () => curateCurrent('accept'),
  r: () => curateCurrent('reject'),
  l: () => curateCurrent('relabel'),
  Delete: () => curateCurrent('delete'),
  e: () => {
    const line = order[current];
    if (line !== undefined) send({ type: 'addRelation', line });
  },
  m: () => {
    const s = selectedSpan();
    if (s) send({ type: 'addEntity', ...s });
  },
  x: () => {
    const line = order[current];
    if (line !== undefined) send({ type: 'extract', lines: [line] });
  },
  o: () => {
    const line = order[current];
    if (line !== undefined) send({ type: 'openText', line });
  },
  q: () => nextInQueue(),
};

function curateCurrent(action: 'accept' | 'reject' | 'relabel' | 'delete'): void {
  const t = currentTriple();
  if (t) send({ type: 'curate', ...t, action });
}

/** The review queue: the least confident undecided prediction of the file. */
function nextInQueue(): void {
  let best: { index: number; rel: number; score: number } | undefined;
  order.forEach((line, index) => {
    records.get(line)?.triples.forEach((t, rel) => {
      if (t.source !== 'model' || (t.decision && t.decision !== 'pending')) return;
      const score = typeof t.score === 'number' ? t.score : -1;
      if (!best || score < best.score) best = { index, rel, score };
    });
  });
  if (best) select(best.index, best.rel);
}

function onClick(e: MouseEvent): void {
  const target = e.target as HTMLElement;
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

function toolbar(): HTMLElement {
  const status = h('select', { id: 'f-status', title: 'Show records' });
  for (const [v, t] of [
    ['all', 'all records'],
    ['pending', 'to review'],
    ['reviewed', 'reviewed'],
    ['disagree', 'differing from gold'],
  ])
    status.append(h('option', { value: v }, t!));
  const label = h('select', { id: 'f-label', title: 'With a relation labelled' });
  const source = h('select', { id: 'f-source', title: 'With a relation from' });
  for (const [v, t] of [
    ['', 'any source'],
    ['gold', 'gold'],
    ['model', 'model'],
    ['human', 'curator'],
  ])
    source.append(h('option', { value: v }, t!));
  const onChange = () => {
    filter = {
      status: (status as HTMLSelectElement).value as Filter['status'],
      label: (label as HTMLSelectElement).value,
      source: (source as HTMLSelectElement).value,
    };
    rebuildOrder();
    renderList();
    select(0, 0);
  };
  for (const s of [status, label, source]) s.addEventListener('change', onChange);
  const progress = h(
    'div',
    { id: 'progress' },
    h('div', { class: 'fill' }),
    h('span', { class: 'label' }),
  );
  const keys = h(
    'div',
    { class: 'keys' },
    'j/k record · n/p relation · a accept · r reject · l relabel · Del delete · e add relation · m entity from selection · x extract · q next to review · o open text',
  );
  return h(
    'div',
    { class: 'toolbar' },
    h('span', { id: 'file' }, file),
    status,
    label,
    source,
    progress,
    keys,
  );
}

function fillLabelFilter(): void {
  const sel = document.getElementById('f-label') as HTMLSelectElement | null;
  if (!sel) return;
  const used = new Set<string>(labels);
  for (const v of records.values()) for (const t of v.triples) used.add(t.label);
  const keep = sel.value;
  sel.replaceChildren(
    h('option', { value: '' }, 'any label'),
    ...[...used].sort().map((l) => h('option', { value: l }, l)),
  );
  sel.value = keep;
}

window.addEventListener('message', (e: MessageEvent) => {
  const parsed = ViewHostMessageSchema.safeParse(e.data);
  if (!parsed.success) return;
  const m = parsed.data;
  if (m.type === 'focus') {
    const i = order.indexOf(m.line);
    if (i >= 0) select(i);
    return;
  }
  file = m.file;
  labels = m.labels;
  if (m.reset) {
    records.clear();
    invalid.clear();
  }
  for (const it of m.items) {
    records.set(it.line, it.view);
    invalid.delete(it.line);
  }
  for (const l of m.invalid) {
    invalid.add(l);
    records.delete(l);
  }
  const before = order.join(',');
  rebuildOrder();
  if (m.reset || before !== order.join(',')) {
    document.getElementById('file')!.textContent = file;
    fillLabelFilter();
    renderList();
    select(current, relation, m.reset);
  } else refreshLines([...m.items.map((i) => i.line), ...m.invalid]);
});

window.addEventListener('keydown', (e) => {
  if ((e.target as HTMLElement).closest('select')) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const fn = KEYS[e.key];
  if (!fn) return;
  e.preventDefault();
  fn();
});
window.addEventListener('resize', () => {
  for (const c of Array.from(document.querySelectorAll<HTMLElement>('.chunk[data-rendered]')))
    for (const r of Array.from(c.children)) drawArcs(r as HTMLElement);
});

const saved = vscode.getState() as
  { current?: number; relation?: number; filter?: Filter } | undefined;
if (saved?.filter) filter = saved.filter;
current = saved?.current ?? 0;
relation = saved?.relation ?? 0;
const app = document.getElementById('app')!;
app.replaceChildren(toolbar(), h('div', { id: 'list', tabindex: '0' }));
app.addEventListener('click', onClick);
send({ type: 'ready' });
