/**
 * Triples inline on the plain text they came from. Extraction from a text file stores its records
 * in the sidecar `<file>.relations.jsonl`; each record keeps where its text starts in the file
 * (`meta.source.offset`, 0 for the whole file) and a hash of the whole file when it was extracted
 * (`meta.source.sha256`). This module lays those records back onto the current text: entity
 * mentions at their file offsets, and each relation after the sentence that holds it.
 *
 * When the text changed since (the record's text is no longer at its offset), the record is
 * re-grounded: its whole text found elsewhere moves it; otherwise each mention is kept where its
 * own text is still at its place or nearby, and a relation is shown only while both its entities
 * still have a mention. What could not be placed is counted, never guessed.
 */
import { TripleStatus, TripleView, evidenceQuotes, tripleViews } from '../curation';
import { RelRecord } from '../schema';
import { tripleText } from './lineDecorations';

/** Where a sidecar record's text came from. */
export interface SourceRef {
  file?: string;
  offset: number;
  /** sha256 (hex) of the whole source file when the record was extracted. */
  sha256?: string;
}

export function sourceOf(record: RelRecord): SourceRef {
  const s = record.meta?.['source'];
  if (s && typeof s === 'object' && !Array.isArray(s)) {
    const o = s as Record<string, unknown>;
    const offset = typeof o['offset'] === 'number' && o['offset'] >= 0 ? o['offset'] : 0;
    return {
      offset,
      ...(typeof o['file'] === 'string' ? { file: o['file'] } : {}),
      ...(typeof o['sha256'] === 'string' ? { sha256: o['sha256'] } : {}),
    };
  }
  return { offset: 0 };
}

export interface OverlayTriple extends TripleView {
  /** The record (its id and its line in the sidecar) the relation belongs to. */
  record: string;
  line: number;
  /** File offset the triple is shown after: the end of the sentence holding both entities. */
  at: number;
  text: string;
  /** The relation's evidence sentences, quoted (document-level records). */
  evidence: string[];
}

export interface TextOverlay {
  mentions: Array<{ entity: number; start: number; end: number; record: string }>;
  triples: OverlayTriple[];
  /** Records whose text was no longer where it was extracted (moved or re-grounded by mention). */
  stale: number;
  /** Mentions whose text is gone from the file (not shown), and relations hidden with them. */
  lostMentions: number;
  hiddenRelations: number;
  /** Records of a span extracted again later (not shown: the newest record of a span is). */
  superseded: number;
}

/** The occurrence of `needle` in `text` nearest to `near` (-1: none). */
export function nearestOccurrence(text: string, needle: string, near: number): number {
  if (!needle) return -1;
  let best = -1;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
    if (best < 0 || Math.abs(i - near) < Math.abs(best - near)) best = i;
    if (i > near) break;
  }
  return best;
}

/** End of the sentence holding `offset`: after its closing punctuation, or the line end. */
export function sentenceEnd(text: string, offset: number): number {
  const re = /[.!?。！？]+["'”’)\]]*(?=\s|$)|[。！？]|\n/g;
  re.lastIndex = offset;
  const m = re.exec(text);
  if (!m) return text.length;
  return m[0] === '\n' ? m.index : m.index + m[0].length;
}

type Grounded = { start: number; end: number; entity: number };

/** The file spans of one record's mentions (by entity index), re-grounded when the text moved. */
function groundRecord(
  text: string,
  record: RelRecord,
): { spans: Grounded[]; stale: boolean; lost: number } {
  const { offset } = sourceOf(record);
  let base = offset;
  let stale = false;
  if (text.slice(offset, offset + record.text.length) !== record.text) {
    stale = true;
    base = nearestOccurrence(text, record.text, offset);
  }
  const spans: Grounded[] = [];
  let lost = 0;
  record.entities.forEach((e, entity) =>
    e.mentions.forEach((m) => {
      const len = m.end - m.start;
      if (base >= 0) return spans.push({ start: base + m.start, end: base + m.end, entity });
      const own = record.text.slice(m.start, m.end);
      const at = offset + m.start;
      const found = text.slice(at, at + len) === own ? at : nearestOccurrence(text, own, at);
      if (found < 0 || !own) lost++;
      else spans.push({ start: found, end: found + len, entity });
    }),
  );
  return { spans, stale, lost };
}

/** The records of a sidecar (with their line numbers) laid onto the current text of the file. */
export function textOverlay(
  text: string,
  records: Array<{ record: RelRecord; line: number }>,
  noRelation?: string | null,
  /** The relation set's name for a label id (DocRED's P-numbers), as the record view shows. */
  nameOf?: (label: string) => string,
): TextOverlay {
  const out: TextOverlay = {
    mentions: [],
    triples: [],
    stale: 0,
    lostMentions: 0,
    hiddenRelations: 0,
    superseded: 0,
  };
  // Extracting the same text again appends a record for the same span: the newest is shown (the
  // older ones, and any decisions on them, stay in the sidecar).
  const span = (r: RelRecord) => `${sourceOf(r).offset}\u0000${r.text}`;
  const newest = new Map(records.map((r, i) => [span(r.record), i]));
  for (const [i, { record, line }] of records.entries()) {
    if (newest.get(span(record)) !== i) {
      out.superseded++;
      continue;
    }
    const g = groundRecord(text, record);
    if (g.stale) out.stale++;
    out.lostMentions += g.lost;
    for (const s of g.spans) out.mentions.push({ ...s, record: record.id });
    const first = (id: string) => {
      const i = record.entities.findIndex((e) => e.id === id);
      return g.spans.find((s) => s.entity === i);
    };
    for (const t of tripleViews(record, noRelation)) {
      const h = first(t.head);
      const tl = first(t.tail);
      if (!h || !tl) {
        out.hiddenRelations++;
        continue;
      }
      const at = sentenceEnd(text, Math.max(h.start, tl.start));
      const evidence = evidenceQuotes(record, record.relations[t.relation]!);
      out.triples.push({
        ...t,
        record: record.id,
        line,
        at,
        text: tripleText(record, t, nameOf),
        evidence,
      });
    }
  }
  return out;
}

/** Triples grouped by the offset they follow and their status (one decoration each). */
export function groupTriples(
  triples: OverlayTriple[],
): Array<{ at: number; status: TripleStatus; text: string }> {
  const groups = new Map<string, { at: number; status: TripleStatus; texts: string[] }>();
  for (const t of triples) {
    const k = `${t.at}\u0000${t.status}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { at: t.at, status: t.status, texts: [] }));
    g.texts.push(t.text);
  }
  // Separated by a dot: the editor collapses runs of spaces in decoration text.
  return [...groups.values()].map((g) => ({
    at: g.at,
    status: g.status,
    text: g.texts.join(' · '),
  }));
}
