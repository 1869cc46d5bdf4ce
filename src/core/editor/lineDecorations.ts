/**
 * What the editor shows for one JSONL line of a record: the triples (`head —label→ tail 0.87`)
 * grouped by their status against gold, and the columns of every entity mention inside the raw
 * line. Lines are parsed once per distinct text (a bounded cache), so scrolling a 50k-line file
 * only parses what becomes visible.
 */
import { TripleStatus, TripleView, tripleViews } from '../curation';
import { parseBoundedJson } from '../io/jsonDepth';
import { RelRecord, validateRecord } from '../schema';
import { textRangesToColumns } from './jsonLine';

export interface LineDecorations {
  record: RelRecord;
  triples: Array<TripleView & { text: string }>;
  /** Mention highlights: entity index (for its color) and raw columns. */
  mentions: Array<{ entity: number; start: number; end: number }>;
}

/** Parses record lines with a bounded cache keyed by the line's text. */
export class RecordLineCache {
  private readonly map = new Map<string, RelRecord | null>();
  constructor(private readonly max = 5000) {}

  get(line: string): RelRecord | null {
    let v = this.map.get(line);
    if (v !== undefined) {
      this.map.delete(line);
      this.map.set(line, v);
      return v;
    }
    v = parseRecordLine(line);
    this.map.set(line, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
    return v;
  }
}

export function parseRecordLine(line: string): RelRecord | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  let v: unknown;
  try {
    v = parseBoundedJson(t);
  } catch {
    return null;
  }
  const r = validateRecord(v);
  return r.ok ? r.value : null;
}

const ARROW: Record<TripleStatus, string> = {
  agree: '✓',
  'wrong-label': '≠',
  extra: '+',
  missing: '−',
  gold: '',
  prediction: '',
};

export function tripleText(
  record: RelRecord,
  t: TripleView,
  nameOf: (label: string) => string = (l) => l,
): string {
  const name = (id: string) => record.entities.find((e) => e.id === id)?.name ?? id;
  const mark = ARROW[t.status];
  const decided = t.decision === 'accepted' ? ' ✔' : '';
  const score = typeof t.score === 'number' ? ` ${t.score.toFixed(2)}` : '';
  return `${mark ? `${mark} ` : ''}${name(t.head)} —${nameOf(t.label)}→ ${name(t.tail)}${score}${decided}`;
}

/** Decorations of one line (null: not a record line). `line` is the raw text of the line. */
export function lineDecorations(
  line: string,
  cache: RecordLineCache,
  noRelation?: string | null,
  nameOf?: (label: string) => string,
): LineDecorations | null {
  const record = cache.get(line);
  if (!record) return null;
  const triples = tripleViews(record, noRelation).map((t) => ({
    ...t,
    text: tripleText(record, t, nameOf),
  }));
  const spans: Array<{ entity: number; start: number; end: number }> = [];
  record.entities.forEach((e, ei) =>
    e.mentions.forEach((m) => spans.push({ entity: ei, start: m.start, end: m.end })),
  );
  const cols = textRangesToColumns(line, spans) ?? [];
  const mentions: LineDecorations['mentions'] = [];
  cols.forEach((c, i) => {
    if (c && c.end > c.start)
      mentions.push({ entity: spans[i]!.entity, start: c.start, end: c.end });
  });
  return { record, triples, mentions };
}
