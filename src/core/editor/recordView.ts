/**
 * What the record view shows of one record, and the curator's edits it makes: the text cut into
 * segments (plain or one entity mention), the entities, the relations with their status against
 * gold (the inline decorations' colours), and whether the record is reviewed. Pure functions; the
 * editor turns an edit into a replacement of that record's line.
 */
import { TripleStatus, isPending, tripleViews } from '../curation';
import { RelRecord, RelationSet, Relation, isIgnoredRecord } from '../schema';
import { tripleText } from './lineDecorations';

export interface Segment {
  text: string;
  /** Entity index (colour) and mention index of a mention segment; absent for plain text. */
  entity?: number;
  mention?: number;
  /** UTF-16 offset of the segment in the record's text. */
  start: number;
  /** Index of the sentence that starts with this segment (documents of several sentences). */
  sentence?: number;
}

export interface RecordView {
  id: string;
  segments: Segment[];
  entities: Array<{ id: string; name: string; type?: string | null }>;
  triples: Array<{
    relation: number;
    head: number;
    tail: number;
    label: string;
    status: TripleStatus;
    decision?: Relation['status'];
    source?: Relation['source'];
    score?: number | null;
    text: string;
    /** The head's and the tail's mention the arc joins (`arcMentions`). */
    at?: [number, number];
  }>;
  pending: number;
  reviewed: boolean;
  /** Set aside by a curator (meta.ignored). */
  ignored?: boolean;
  sources: string[];
}

/**
 * The text cut at mention boundaries; overlapping mentions keep the first (by start, longest).
 * In a document of several sentences, plain text is also cut where a sentence starts, and the
 * segment starting sentence i says so (`sentence: i`).
 */
export function textSegments(record: RelRecord): Segment[] {
  const spans: Array<{ start: number; end: number; entity: number; mention: number }> = [];
  record.entities.forEach((e, entity) =>
    e.mentions.forEach((m, mention) => {
      if (m.end > m.start && m.end <= record.text.length)
        spans.push({ start: m.start, end: m.end, entity, mention });
    }),
  );
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const starts = sentenceStarts(record);
  const out: Segment[] = [];
  const plain = (from: number, to: number) => {
    const cuts = [...starts.keys()].filter((x) => x > from && x < to);
    for (const [i, a] of [from, ...cuts].entries()) {
      const b = [...cuts, to][i]!;
      out.push(sentenceMark({ text: record.text.slice(a, b), start: a }, starts));
    }
  };
  let at = 0;
  for (const s of spans) {
    if (s.start < at) continue;
    if (s.start > at) plain(at, s.start);
    out.push(
      sentenceMark(
        {
          text: record.text.slice(s.start, s.end),
          entity: s.entity,
          mention: s.mention,
          start: s.start,
        },
        starts,
      ),
    );
    at = s.end;
  }
  if (at < record.text.length) plain(at, record.text.length);
  return out;
}

/** Sentence start offset → sentence index, for documents of more than one sentence. */
function sentenceStarts(record: RelRecord): Map<number, number> {
  const sentences = record.sentences ?? [];
  return new Map(sentences.length > 1 ? sentences.map((x, i) => [x.start, i]) : []);
}

const sentenceMark = (seg: Segment, starts: Map<number, number>): Segment =>
  starts.has(seg.start) ? { ...seg, sentence: starts.get(seg.start)! } : seg;

/**
 * The mentions a relation's arc joins: of the head's and the tail's mentions that are shown,
 * the pair in one of the relation's evidence sentences if there is one, else in one sentence,
 * else the closest pair (a document names an entity many times; its first mention is rarely
 * where the relation is stated).
 */
export function arcMentions(
  record: RelRecord,
  r: { head: string; tail: string; evidence?: number[] },
  shown: (entity: number, mention: number) => boolean,
): [number, number] | undefined {
  const hi = record.entities.findIndex((e) => e.id === r.head);
  const ti = record.entities.findIndex((e) => e.id === r.tail);
  if (hi < 0 || ti < 0) return undefined;
  const sentenceOf = (m: { start: number; sent?: number }) =>
    m.sent ?? record.sentences?.findIndex((x) => m.start >= x.start && m.start < x.end) ?? -1;
  const evidence = new Set(r.evidence ?? []);
  let best: { cost: number; at: [number, number] } | undefined;
  record.entities[hi]!.mentions.forEach((a, i) => {
    if (!shown(hi, i)) return;
    record.entities[ti]!.mentions.forEach((b, j) => {
      if (!shown(ti, j)) return;
      const same = sentenceOf(a) >= 0 && sentenceOf(a) === sentenceOf(b);
      const rank = same && evidence.has(sentenceOf(a)) ? 0 : same ? 1 : 2;
      const cost = rank * 1e9 + Math.abs(a.start - b.start);
      if (!best || cost < best.cost) best = { cost, at: [i, j] };
    });
  });
  return best?.at;
}

/** A record is reviewed when no model prediction in it waits for a decision. */
/** Decided: no prediction pending review, or the whole record set aside (ignored). */
export const isReviewed = (r: RelRecord): boolean =>
  isIgnoredRecord(r) || !r.relations.some(isPending);

export function recordView(
  record: RelRecord,
  noRelation?: string | null,
  nameOf?: (label: string) => string,
): RecordView {
  const index = new Map(record.entities.map((e, i) => [e.id, i]));
  const segments = textSegments(record);
  const shownMentions = new Set(
    segments.filter((x) => x.entity !== undefined).map((x) => `${x.entity}:${x.mention}`),
  );
  const at = (relation: number) => {
    const r = record.relations[relation];
    const pair = r && arcMentions(record, r, (e, m) => shownMentions.has(`${e}:${m}`));
    return pair ? { at: pair } : {};
  };
  const triples = tripleViews(record, noRelation)
    .filter((t) => index.has(t.head) && index.has(t.tail))
    .map((t) => ({
      relation: t.relation,
      head: index.get(t.head)!,
      tail: index.get(t.tail)!,
      label: t.label,
      status: t.status,
      ...(t.decision ? { decision: t.decision } : {}),
      ...(t.source ? { source: t.source } : {}),
      ...(t.score !== undefined ? { score: t.score } : {}),
      text: tripleText(record, t, nameOf),
      ...at(t.relation),
    }));
  const rejected = record.relations
    .map((r, relation) => ({ r, relation }))
    .filter(({ r }) => r.status === 'rejected' && index.has(r.head) && index.has(r.tail))
    .map(({ r, relation }) => ({
      relation,
      head: index.get(r.head)!,
      tail: index.get(r.tail)!,
      label: r.label,
      status: 'prediction' as const,
      decision: 'rejected' as const,
      ...(r.source ? { source: r.source } : {}),
      text: `${record.entities[index.get(r.head)!]!.name} —${nameOf ? nameOf(r.label) : r.label}→ ${record.entities[index.get(r.tail)!]!.name} ✗`,
      ...at(relation),
    }));
  return {
    id: record.id,
    segments,
    entities: record.entities.map((e) => ({ id: e.id, name: e.name, type: e.type ?? null })),
    triples: [...triples, ...rejected],
    pending: record.relations.filter(isPending).length,
    reviewed: isReviewed(record),
    ...(isIgnoredRecord(record) ? { ignored: true } : {}),
    sources: [...new Set(record.relations.map((r) => r.source ?? 'gold'))],
  };
}

/**
 * The labels offered for a pair: those whose head/tail types admit the entities' types (a label
 * without types admits any; an entity without a type passes every label).
 */
export function labelsForPair(
  rs: RelationSet,
  head?: string | null,
  tail?: string | null,
): string[] {
  const ok = (types: string[] | undefined, t?: string | null) =>
    !types?.length || !t || types.includes(t);
  const names = rs.labels
    .filter((l) => ok(l.headTypes, head) && ok(l.tailTypes, tail))
    .map((l) => l.name);
  return rs.noRelation ? [...names, rs.noRelation] : names;
}

/** A relation the curator added between two entities (source human, accepted; `meta.annotator` when given). */
export function addRelation(
  record: RelRecord,
  r: { head: string; tail: string; label: string },
  annotator?: string,
): RelRecord {
  for (const id of [r.head, r.tail])
    if (!record.entities.some((e) => e.id === id))
      throw new Error(`record ${record.id} has no entity ${id}`);
  const added: Relation = { ...r, source: 'human', status: 'accepted' };
  if (annotator) added.meta = { annotator };
  return { ...record, relations: [...record.relations, added] };
}

/** Removes relation `index` (a curator's own relation, or any relation they delete outright). */
export function deleteRelation(record: RelRecord, index: number): RelRecord {
  if (!record.relations[index]) throw new Error(`record ${record.id} has no relation ${index}`);
  return { ...record, relations: record.relations.filter((_, i) => i !== index) };
}

/**
 * Adds an entity for the span [start, end) of the record's text, snapped outwards to whole words
 * (never splitting a surrogate pair) and trimmed of spaces; a span that is already a mention of
 * an entity returns the record unchanged. The new id is the first free `hN`.
 */
export function addEntity(
  record: RelRecord,
  span: { start: number; end: number; type?: string },
): { record: RelRecord; entity: string } {
  const { start, end } = snapSpan(record.text, span.start, span.end);
  if (end <= start) throw new Error('the selection holds no text');
  const same = record.entities.find((e) =>
    e.mentions.some((m) => m.start === start && m.end === end),
  );
  if (same) return { record, entity: same.id };
  let n = 1;
  while (record.entities.some((e) => e.id === `h${n}`)) n++;
  const entity = {
    id: `h${n}`,
    name: record.text.slice(start, end),
    ...(span.type ? { type: span.type } : {}),
    mentions: [{ start, end }],
  };
  return { record: { ...record, entities: [...record.entities, entity] }, entity: entity.id };
}

const WORD = /[\p{L}\p{N}_'’-]/u;
const isHan = (c: string) => /\p{Script=Han}/u.test(c);

/** Widens a span to whole words (Latin-like scripts; Han characters are words of their own). */
export function snapSpan(text: string, start: number, end: number): { start: number; end: number } {
  let s = Math.max(0, Math.min(start, text.length));
  let e = Math.max(s, Math.min(end, text.length));
  while (s < e && /\s/.test(text[s]!)) s++;
  while (e > s && /\s/.test(text[e - 1]!)) e--;
  const word = (c: string | undefined) => c !== undefined && WORD.test(c) && !isHan(c);
  while (s > 0 && word(text[s - 1]) && word(text[s])) s--;
  while (e < text.length && word(text[e]) && word(text[e - 1])) e++;
  // Never cut a surrogate pair.
  if (s > 0 && /[\uDC00-\uDFFF]/.test(text[s]!)) s--;
  if (e < text.length && /[\uDC00-\uDFFF]/.test(text[e]!)) e++;
  return { start: s, end: e };
}

/**
 * A file's records cut into messages for the record view: a small first page (on screen at once),
 * then larger ones the view takes in between frames (a 50k-record message costs the webview half
 * a second to receive before it can draw anything).
 */
export function viewPages<T>(items: T[], first = 400, size = 2000): T[][] {
  const out: T[][] = [items.slice(0, first)];
  for (let i = first; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
