/**
 * The canonical data model of Relation Lens.
 *
 * One record per JSONL line: a text, its entities (each with one or more mentions given as
 * half-open UTF-16 code-unit offsets into `text`, the offsets VS Code uses), its relations and,
 * for sentence-level tasks, the entity pairs to classify. A relation set is its own JSON file.
 */
import { z } from 'zod';

export const RELATION_SOURCES = ['gold', 'model', 'human'] as const;
export type RelationSource = (typeof RELATION_SOURCES)[number];
export const RELATION_STATUSES = ['accepted', 'rejected', 'pending', 'ignored'] as const;

const Int = z.number().int().nonnegative();

export const MentionSchema = z
  .object({
    start: Int,
    end: Int,
    /** The name this mention was annotated with, when it differs from the entity's name (aliases). */
    name: z.string().optional(),
    /** Entity type of this mention, when it differs from the entity's type. */
    type: z.string().nullable().optional(),
    /** Index of the sentence (in `sentences`) that holds the mention (document-level records). */
    sent: Int.optional(),
  })
  .strict();

export const EntitySchema = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    type: z.string().nullable().optional(),
    mentions: z.array(MentionSchema),
  })
  .strict();

export const RelationSchema = z
  .object({
    head: z.string().min(1),
    tail: z.string().min(1),
    label: z.string().min(1),
    score: z.number().min(0).max(1).nullable().optional(),
    source: z.enum(RELATION_SOURCES).optional(),
    /** Evidence: indices into `sentences` (document-level). */
    evidence: z.array(Int).optional(),
    /**
     * Curation status: accepted, rejected, pending (a prediction not decided yet) or ignored ("not
     * sure, skip": left out of training and evaluation, like the whole record with `meta.ignored`).
     */
    status: z.enum(RELATION_STATUSES).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const SpanSchema = z.object({ start: Int, end: Int }).strict();

export const RecordSchema = z
  .object({
    id: z.string().min(1),
    text: z.string(),
    entities: z.array(EntitySchema),
    relations: z.array(RelationSchema),
    /** Ordered entity pairs to classify (sentence level). Absent: every ordered pair is a candidate. */
    pairs: z.array(z.tuple([z.string(), z.string()])).optional(),
    /** Sentence spans (document level), referenced by mention `sent` and relation `evidence`. */
    sentences: z.array(SpanSchema).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type Mention = z.infer<typeof MentionSchema>;
export type Entity = z.infer<typeof EntitySchema>;
export type Relation = z.infer<typeof RelationSchema>;
export type Span = z.infer<typeof SpanSchema>;
export type RelRecord = z.infer<typeof RecordSchema>;

export const RelationLabelSchema = z
  .object({
    name: z.string().min(1),
    /** External identifier, e.g. the Wikidata property id `P17` of DocRED. */
    id: z.string().optional(),
    description: z.string().optional(),
    /** Short example sentences of the relation (shown when a curator picks a label). */
    examples: z.array(z.string()).optional(),
    /** The longer annotation guideline for the label (Markdown), shown in hovers and label picks. */
    guideline: z.string().optional(),
    /** Directed (head/tail order matters; SemEval writes it as `(e1,e2)`/`(e2,e1)`). Default: the set's `directed`. */
    directed: z.boolean().optional(),
    headTypes: z.array(z.string()).optional(),
    tailTypes: z.array(z.string()).optional(),
  })
  .strict();

export const RelationSetSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** The label that means "no relation" (`Other`, `unknown`, `no_relation`), or null when there is none. */
    noRelation: z.string().nullable(),
    /** Default direction of the labels. */
    directed: z.boolean().default(true),
    labels: z.array(RelationLabelSchema).min(1),
    entityTypes: z.array(z.string()).optional(),
  })
  .strict();

export type RelationLabel = z.infer<typeof RelationLabelSchema>;
export type RelationSet = z.infer<typeof RelationSetSchema>;

/** The text of a mention. */
export function mentionText(
  record: Pick<RelRecord, 'text'>,
  m: Pick<Mention, 'start' | 'end'>,
): string {
  return record.text.slice(m.start, m.end);
}

/** The name a mention must show: its own annotated name, or its entity's. */
export function mentionName(entity: Entity, m: Mention): string {
  return m.name ?? entity.name;
}

const WS = /\s+/gu;
/** Whether a mention's text shows the expected name (exactly, or up to whitespace: tokenized corpora). */
export function textMatchesName(text: string, name: string): boolean {
  return text === name || text.replace(WS, '') === name.replace(WS, '');
}

/**
 * Semantic checks that a schema cannot express. Returns human-readable problems (empty: valid).
 */
export function checkRecord(r: RelRecord): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const n = r.text.length;
  for (const e of r.entities) {
    if (ids.has(e.id)) problems.push(`duplicate entity id "${e.id}"`);
    ids.add(e.id);
    e.mentions.forEach((m, i) => {
      const where = `entity "${e.id}" mention ${i}`;
      if (m.end < m.start) problems.push(`${where}: end ${m.end} < start ${m.start}`);
      else if (m.end > n)
        problems.push(
          `${where}: offsets ${m.start}-${m.end} out of range (text has ${n} UTF-16 code units)`,
        );
      else {
        const shown = mentionText(r, m);
        const expected = mentionName(e, m);
        if (!textMatchesName(shown, expected))
          problems.push(
            `${where}: text at ${m.start}-${m.end} is ${JSON.stringify(shown)}, expected ${JSON.stringify(expected)}`,
          );
      }
      if (m.sent !== undefined && r.sentences && m.sent >= r.sentences.length)
        problems.push(
          `${where}: sentence ${m.sent} does not exist (${r.sentences.length} sentences)`,
        );
    });
  }
  r.relations.forEach((rel, i) => {
    if (!ids.has(rel.head)) problems.push(`relation ${i}: unknown head entity id "${rel.head}"`);
    if (!ids.has(rel.tail)) problems.push(`relation ${i}: unknown tail entity id "${rel.tail}"`);
    if (rel.evidence && r.sentences)
      for (const s of rel.evidence)
        if (s >= r.sentences.length)
          problems.push(`relation ${i}: evidence sentence ${s} does not exist`);
  });
  r.pairs?.forEach(([h, t], i) => {
    if (!ids.has(h)) problems.push(`pair ${i}: unknown entity id "${h}"`);
    if (!ids.has(t)) problems.push(`pair ${i}: unknown entity id "${t}"`);
  });
  r.sentences?.forEach((s, i) => {
    if (s.end < s.start || s.end > n)
      problems.push(`sentence ${i}: span ${s.start}-${s.end} out of range`);
  });
  return problems;
}

/** Formats a zod error into short messages with the JSON path of each problem. */
export function zodProblems(err: z.ZodError): string[] {
  return err.issues.map((i) => {
    const path = i.path.length
      ? i.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
          .join('')
          .replace(/^\./, '')
      : '(record)';
    return `${path}: ${i.message}`;
  });
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** Validates a parsed JSON value as a canonical record (shape and semantics). */
export function validateRecord(value: unknown): Validated<RelRecord> {
  const parsed = RecordSchema.safeParse(value);
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error) };
  const problems = checkRecord(parsed.data);
  return problems.length ? { ok: false, problems } : { ok: true, value: parsed.data };
}

export function validateRelationSet(value: unknown): Validated<RelationSet> {
  const parsed = RelationSetSchema.safeParse(value);
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error) };
  const rs = parsed.data;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const l of rs.labels) {
    if (seen.has(l.name)) problems.push(`duplicate label "${l.name}"`);
    seen.add(l.name);
  }
  if (rs.noRelation !== null && seen.has(rs.noRelation))
    problems.push(
      `the no-relation label "${rs.noRelation}" must not also be listed as a relation label`,
    );
  return problems.length ? { ok: false, problems } : { ok: true, value: rs };
}

/** Whether a label of the set is directed. */
export function isDirected(rs: RelationSet | undefined, label: string): boolean {
  if (!rs) return true;
  const l = rs.labels.find((x) => x.name === label);
  return l?.directed ?? rs.directed;
}

/** Entity pairs to classify: `pairs`, or every ordered pair of distinct entities. */
export function candidatePairs(r: RelRecord): Array<[string, string]> {
  if (r.pairs) return r.pairs;
  const out: Array<[string, string]> = [];
  for (const a of r.entities) for (const b of r.entities) if (a.id !== b.id) out.push([a.id, b.id]);
  return out;
}

/** A record for document-level extraction (LMRC): several sentences, or many entities and no fixed pairs. */
export function isDocumentRecord(r: RelRecord): boolean {
  return (r.sentences?.length ?? 0) > 1 || (!r.pairs && r.entities.length > 2);
}

/** The sentence of a mention: its `sent`, else the sentence holding its start. */
export function mentionSentence(
  record: Pick<RelRecord, 'sentences'>,
  m: Pick<Mention, 'start' | 'sent'>,
): number {
  return m.sent ?? sentenceIndexOf(record, m.start);
}

/** The sentences an entity is mentioned in. */
export function entitySentences(
  record: Pick<RelRecord, 'sentences'>,
  e: Pick<Entity, 'mentions'>,
): Set<number> {
  return new Set(e.mentions.map((m) => mentionSentence(record, m)));
}

/** The index of the sentence (in `sentences`, sorted by start) that holds a character offset; 0 without sentences. */
export function sentenceIndexOf(record: Pick<RelRecord, 'sentences'>, offset: number): number {
  const s = record.sentences;
  if (!s?.length) return 0;
  let lo = 0;
  let hi = s.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s[mid]!.start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A relation that stands: not rejected, not ignored (what exports, evaluation and retrieval read). */
export const isLive = (x: Pick<Relation, 'status'>): boolean =>
  x.status !== 'rejected' && x.status !== 'ignored';

/** A record a curator set aside ("not sure, skip": `meta.ignored`): left out of training and evaluation. */
export const isIgnoredRecord = (r: Pick<RelRecord, 'meta'>): boolean =>
  r.meta?.['ignored'] === true;

/** A key of the pair {a, b} whatever its order (relations either way round share it). */
export const unorderedPairKey = (a: string, b: string): string =>
  a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
