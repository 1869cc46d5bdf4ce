/**
 * DocRED / Re-DocRED JSON: an array of documents
 *   {title, sents: [[token]], vertexSet: [[{name, pos:[start,end), sent_id, type}]], labels: [{r, h, t, evidence}]}
 * The canonical text joins the tokens of a sentence with single spaces and the sentences with
 * single spaces; `sentences` keeps their spans, mentions keep their sentence index, and a
 * mention whose annotated name differs from its entity's name keeps it (the official Ign F1
 * compares those names).
 */
import { z } from 'zod';
import { readJsonArray } from '../io/jsonArray';
import {
  Entity,
  RelRecord,
  RelationSet,
  Span,
  textMatchesName,
  zodProblems,
  isLive,
} from '../schema';
import { Collector, ImportResult } from './common';

const DocMention = z
  .object({
    name: z.string(),
    pos: z.tuple([z.number().int(), z.number().int()]),
    sent_id: z.number().int().nonnegative(),
    type: z.string().optional(),
  })
  .passthrough();
export const DocRedDocSchema = z
  .object({
    title: z.string(),
    sents: z.array(z.array(z.string())),
    vertexSet: z.array(z.array(DocMention).min(1)),
    labels: z
      .array(
        z
          .object({
            r: z.string(),
            h: z.number().int().nonnegative(),
            t: z.number().int().nonnegative(),
            evidence: z.array(z.number().int().nonnegative()).optional(),
          })
          .passthrough(),
      )
      .optional(),
  })
  .passthrough();
export type DocRedDoc = z.infer<typeof DocRedDocSchema>;

/** rel_info.json: `{"P17": "country", ...}`. */
export function relationSetFromRelInfo(
  relInfo: Record<string, string>,
  name = 'docred',
): RelationSet {
  return {
    name,
    noRelation: null,
    directed: true,
    labels: Object.entries(relInfo).map(([id, n]) => ({ name: n, id })),
  };
}

export function parseRelInfo(text: string, file: string): Record<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  const parsed = z.record(z.string(), z.string()).safeParse(v);
  if (!parsed.success)
    throw new Error(
      `${file}: expected an object mapping relation ids to names (${zodProblems(parsed.error).join('; ')})`,
    );
  return parsed.data;
}

/** Converts one DocRED document into a canonical record, or returns the problems. */
export function docToRecord(
  doc: DocRedDoc,
  relInfo?: Record<string, string>,
): RelRecord | string[] {
  const problems: string[] = [];
  const sentences: Span[] = [];
  const tokenStarts: number[][] = [];
  let text = '';
  doc.sents.forEach((tokens, si) => {
    if (si > 0) text += ' ';
    const start = text.length;
    const starts: number[] = [];
    tokens.forEach((tok, ti) => {
      if (ti > 0) text += ' ';
      starts.push(text.length);
      text += tok;
    });
    starts.push(text.length + 1); // sentinel: one past the last token's end + the space
    tokenStarts.push(starts);
    sentences.push({ start, end: text.length });
  });
  // Each mention shows its annotated name when the tokens at `pos` read it (up to whitespace);
  // otherwise (a known DocRED artefact, e.g. "4.\nTwo" over the token "Two") it shows the token
  // text and the annotated name is kept in meta.docredNames, which scoring uses.
  const odd: Array<[number, number, string]> = [];
  const entities: Entity[] = doc.vertexSet.map((mentions, ei) => {
    const spans = mentions.map((m, mi) => {
      const starts = tokenStarts[m.sent_id];
      const [a, b] = m.pos;
      if (!starts || a < 0 || b <= a || b > starts.length - 1) {
        problems.push(
          `vertexSet[${ei}][${mi}]: pos [${a},${b}] is out of range for sentence ${m.sent_id}`,
        );
        return { start: 0, end: 0, shown: '' };
      }
      const start = starts[a]!;
      const end = starts[b]! - 1;
      const tokens = text.slice(start, end);
      if (textMatchesName(tokens, m.name)) return { start, end, shown: m.name };
      odd.push([ei, mi, m.name]);
      return { start, end, shown: tokens };
    });
    const first = mentions[0]!;
    const name = spans[0]!.shown;
    return {
      id: `e${ei}`,
      name,
      type: first.type ?? null,
      mentions: mentions.map((m, mi) => {
        const sp = spans[mi]!;
        const out: Entity['mentions'][number] = { start: sp.start, end: sp.end, sent: m.sent_id };
        if (sp.shown !== name) out.name = sp.shown;
        if (m.type !== undefined && m.type !== first.type) out.type = m.type;
        return out;
      }),
    };
  });
  const labels = doc.labels ?? [];
  const relations = labels.map((l, i) => {
    if (l.h >= entities.length || l.t >= entities.length)
      problems.push(`labels[${i}]: entity index out of range`);
    return {
      head: `e${l.h}`,
      tail: `e${l.t}`,
      label: relInfo?.[l.r] ?? l.r,
      source: 'gold' as const,
      evidence: l.evidence ?? [],
    };
  });
  if (problems.length) return problems;
  const meta: Record<string, unknown> = { title: doc.title };
  if (odd.length) meta['docredNames'] = odd;
  return { id: doc.title, text, entities, relations, sentences, meta };
}

export function importDocRed(
  text: string,
  file: string,
  relInfo?: Record<string, string>,
): ImportResult & { docs: Array<{ doc: DocRedDoc; line: number }> } {
  const c = new Collector(file);
  const arr = readJsonArray(text, file);
  c.diagnostics.push(...arr.diagnostics);
  c.skipped += arr.skipped;
  const docs: Array<{ doc: DocRedDoc; line: number }> = [];
  const titles = new Set<string>();
  for (const el of arr.elements) {
    const parsed = DocRedDocSchema.safeParse(el.value);
    if (!parsed.success) {
      c.skip(el.line, `document ${el.index}: ${zodProblems(parsed.error).join('; ')}`);
      continue;
    }
    const rec = docToRecord(parsed.data, relInfo);
    if (Array.isArray(rec)) {
      c.skip(
        el.line,
        `document ${el.index} (${JSON.stringify(parsed.data.title)}): ${rec.join('; ')}`,
      );
      continue;
    }
    if (titles.has(rec.id)) {
      c.skip(el.line, `document ${el.index}: duplicate title ${JSON.stringify(rec.id)}`);
      continue;
    }
    titles.add(rec.id);
    const odd = rec.meta?.['docredNames'] as Array<[number, number, string]> | undefined;
    for (const [ei, mi, name] of odd ?? [])
      c.warn(
        el.line,
        `document ${el.index} (${JSON.stringify(rec.id)}): vertexSet[${ei}][${mi}] is named ${JSON.stringify(name)} but its tokens read ${JSON.stringify(mentionAt(rec, ei, mi))}; the mention keeps the token text, the annotated name is kept in meta.docredNames for scoring`,
      );
    if (c.add(rec, el.line)) docs.push({ doc: parsed.data, line: el.line });
  }
  return { ...c.result(relInfo ? relationSetFromRelInfo(relInfo) : undefined), docs };
}

function mentionAt(r: RelRecord, ei: number, mi: number): string {
  const m = r.entities[ei]?.mentions[mi];
  return m ? r.text.slice(m.start, m.end) : '';
}

/** Label → relation id (P-number) through the relation set, when it has ids. */
export function labelToId(rs: RelationSet | undefined): (label: string) => string {
  const map = new Map<string, string>();
  for (const l of rs?.labels ?? []) if (l.id) map.set(l.name, l.id);
  return (label) => map.get(label) ?? label;
}

export interface DocRedPrediction {
  title: string;
  h_idx: number;
  t_idx: number;
  r: string;
  evidence?: number[];
  score?: number;
}

/** The DocRED submission format: `[{title, h_idx, t_idx, r, evidence?}]`. */
export function toDocRedSubmission(records: RelRecord[], rs?: RelationSet): DocRedPrediction[] {
  const toId = labelToId(rs);
  const out: DocRedPrediction[] = [];
  for (const r of records) {
    const title = typeof r.meta?.['title'] === 'string' ? (r.meta['title'] as string) : r.id;
    const index = new Map(r.entities.map((e, i) => [e.id, i]));
    for (const rel of r.relations) {
      if (!isLive(rel) || rel.label === rs?.noRelation) continue;
      const h = index.get(rel.head);
      const t = index.get(rel.tail);
      if (h === undefined || t === undefined) continue;
      const p: DocRedPrediction = { title, h_idx: h, t_idx: t, r: toId(rel.label) };
      if (rel.evidence) p.evidence = rel.evidence;
      if (typeof rel.score === 'number') p.score = rel.score;
      out.push(p);
    }
  }
  return out;
}

const SubmissionSchema = z
  .object({
    title: z.string(),
    h_idx: z.number().int().nonnegative(),
    t_idx: z.number().int().nonnegative(),
    r: z.string(),
    evidence: z.array(z.number().int()).optional(),
  })
  .passthrough();

/** Reads a submission file, element by element (a malformed element costs only itself). */
export function readDocRedSubmission(
  text: string,
  file: string,
): ImportResult & { predictions: DocRedPrediction[] } {
  const c = new Collector(file);
  const arr = readJsonArray(text, file);
  c.diagnostics.push(...arr.diagnostics);
  c.skipped += arr.skipped;
  const predictions: DocRedPrediction[] = [];
  for (const el of arr.elements) {
    const p = SubmissionSchema.safeParse(el.value);
    if (!p.success) c.skip(el.line, `prediction ${el.index}: ${zodProblems(p.error).join('; ')}`);
    else predictions.push(p.data);
  }
  return { ...c.result(), predictions };
}
