/**
 * Curation of predicted relations in a record: merging fresh predictions into a curated record,
 * accepting / rejecting / editing one relation, the review queue, and the comparison of
 * predictions with gold. Pure functions over records; the editor applies the results as edits.
 */
import { RelRecord, Relation, isLive } from './schema';

const tripleKey = (r: Pick<Relation, 'head' | 'tail' | 'label'>) =>
  `${r.head}\u0000${r.tail}\u0000${r.label}`;
const pairKeyOf = (h: string, t: string) => `${h}\u0000${t}`;

/** A model prediction a person has not decided on yet. */
export const isPending = (r: Relation): boolean =>
  r.source === 'model' && (r.status === undefined || r.status === 'pending');

/**
 * Puts a fresh extraction's predictions into the record as it is in the editor: gold and human
 * relations and decided predictions stay; undecided predictions on the pairs the extraction
 * looked at are replaced; a prediction that repeats a kept triple is not added twice.
 */
export function mergePredictions(
  current: RelRecord,
  extracted: RelRecord,
  classifiedPairs: Array<[string, string]>,
): RelRecord {
  const touched = new Set(classifiedPairs.map(([h, t]) => pairKeyOf(h, t)));
  const kept = current.relations.filter(
    (r) =>
      !(
        isPending(r) &&
        (touched.has(pairKeyOf(r.head, r.tail)) || touched.has(pairKeyOf(r.tail, r.head)))
      ),
  );
  // A prediction that agrees with gold is still added (the editor shows the agreement); one that
  // repeats a curated (human or decided) relation is not.
  const have = new Set(
    kept.filter((r) => r.source !== 'gold' && r.source !== undefined).map(tripleKey),
  );
  const fresh = extracted.relations
    .filter((r) => r.source === 'model' && !have.has(tripleKey(r)))
    .map((r) => ({ ...r, status: 'pending' as const }));
  const out: RelRecord = { ...current, relations: [...kept, ...fresh] };
  const ex = extracted.meta?.['extraction'];
  if (ex !== undefined) out.meta = { ...(current.meta ?? {}), extraction: ex };
  return out;
}

export type CurationAction =
  { kind: 'accept' } | { kind: 'reject' } | { kind: 'ignore' } | { kind: 'edit'; label: string };

/**
 * Applies a decision to relation `index`; the relation becomes the curator's (`source: human`),
 * and `meta.annotator` names who decided when `annotator` is given (the last decision's).
 */
export function curate(
  record: RelRecord,
  index: number,
  action: CurationAction,
  annotator?: string,
): RelRecord {
  const r = record.relations[index];
  if (!r) throw new Error(`record ${record.id} has no relation ${index}`);
  const meta: Record<string, unknown> = {
    ...(r.meta ?? {}),
    ...(r.source && r.source !== 'human' ? { predictedBy: r.source } : {}),
    ...(annotator ? { annotator } : {}),
  };
  let next: Relation;
  if (action.kind === 'edit') {
    const m = {
      ...meta,
      ...(action.label !== r.label && meta['predictedLabel'] === undefined
        ? { predictedLabel: r.label }
        : {}),
    };
    next = { ...r, label: action.label, source: 'human', status: 'accepted', meta: m };
  } else
    next = {
      ...r,
      source: 'human',
      status:
        action.kind === 'accept' ? 'accepted' : action.kind === 'ignore' ? 'ignored' : 'rejected',
      meta,
    };
  if (next.meta && Object.keys(next.meta).length === 0) delete next.meta;
  const relations = record.relations.slice();
  relations[index] = next;
  return { ...record, relations };
}

export interface QueueItem {
  line: number;
  recordId: string;
  relation: number;
  score: number | null;
}

/** Undecided predictions, least confident first (no score counts as least confident). */
export function reviewQueue(records: Iterable<{ line: number; record: RelRecord }>): QueueItem[] {
  const out: QueueItem[] = [];
  for (const { line, record } of records)
    record.relations.forEach((r, i) => {
      if (isPending(r))
        out.push({
          line,
          recordId: record.id,
          relation: i,
          score: typeof r.score === 'number' ? r.score : null,
        });
    });
  return out.sort(
    (a, b) => (a.score ?? -1) - (b.score ?? -1) || a.line - b.line || a.relation - b.relation,
  );
}

export type TripleStatus = 'agree' | 'extra' | 'wrong-label' | 'missing' | 'gold' | 'prediction';

export interface TripleView {
  head: string;
  tail: string;
  label: string;
  /** Index into `record.relations`; -1 for nothing (never for a relation shown). */
  relation: number;
  status: TripleStatus;
  decision?: Relation['status'];
  score?: number | null;
  source?: Relation['source'];
}

/**
 * The triples to show for a record, each marked against the gold relations when the record has
 * both: agree (a prediction that is gold), extra (a prediction on a pair without gold), wrong
 * label (a prediction on a gold pair with another label), missing (gold with no prediction on
 * its pair). Without gold, predictions show as `prediction`; without predictions, gold shows
 * as `gold` — or `missing` when the record was extracted (`meta.extraction`) and the model
 * found no relation. Rejected predictions are left out.
 */
export function tripleViews(record: RelRecord, noRelation?: string | null): TripleView[] {
  const gold: Array<[Relation, number]> = [];
  const pred: Array<[Relation, number]> = [];
  record.relations.forEach((r, i) => {
    if (r.label === noRelation) return;
    if (r.source === 'gold' || r.source === undefined) gold.push([r, i]);
    else if (r.status !== 'rejected') pred.push([r, i]); // ignored ones show, marked
  });
  const view = (r: Relation, i: number, status: TripleStatus): TripleView => ({
    head: r.head,
    tail: r.tail,
    label: r.label,
    relation: i,
    status,
    decision: r.status,
    score: r.score,
    source: r.source,
  });
  // A record that went through extraction and got no relation predicted misses its gold relations.
  const extracted = record.meta?.['extraction'] !== undefined;
  if (!pred.length) return gold.map(([r, i]) => view(r, i, extracted ? 'missing' : 'gold'));
  if (!gold.length) return pred.map(([r, i]) => view(r, i, 'prediction'));
  const goldTriples = new Set(gold.map(([r]) => tripleKey(r)));
  const goldPairs = new Set(gold.map(([r]) => pairKeyOf(r.head, r.tail)));
  const predPairs = new Set(pred.map(([r]) => pairKeyOf(r.head, r.tail)));
  const out = pred.map(([r, i]) =>
    view(
      r,
      i,
      goldTriples.has(tripleKey(r))
        ? 'agree'
        : goldPairs.has(pairKeyOf(r.head, r.tail))
          ? 'wrong-label'
          : 'extra',
    ),
  );
  for (const [r, i] of gold)
    if (!predPairs.has(pairKeyOf(r.head, r.tail))) out.push(view(r, i, 'missing'));
  return out;
}

/** A relation's evidence sentences as short quotes ("[3] London is the capital of …"); unknown ids are skipped. */
export function evidenceQuotes(record: RelRecord, relation: Relation, maxChars = 80): string[] {
  const spans = record.sentences ?? [];
  const out: string[] = [];
  for (const id of relation.evidence ?? []) {
    const sp = spans[id];
    if (!sp) continue;
    const text = record.text.slice(sp.start, sp.end).replace(/\s+/g, ' ').trim();
    out.push(
      `[${id}] ${text.length > maxChars ? `${text.slice(0, maxChars - 1).trimEnd()}…` : text}`,
    );
  }
  return out;
}

/**
 * A curated file holds gold and predictions side by side: split it into a gold view (gold
 * relations) and a prediction view (model and human relations that were not rejected), for
 * scoring a file against itself.
 */
export function splitGoldAndPredictions(records: RelRecord[]): {
  gold: RelRecord[];
  pred: RelRecord[];
  hasGold: boolean;
  hasPredictions: boolean;
} {
  let hasGold = false;
  let hasPredictions = false;
  const gold: RelRecord[] = [];
  const pred: RelRecord[] = [];
  for (const r of records) {
    const g = r.relations.filter((x) => x.source === 'gold' || x.source === undefined);
    const p = r.relations.filter(
      (x) => (x.source === 'model' || x.source === 'human') && isLive(x),
    );
    hasGold ||= g.length > 0;
    hasPredictions ||= p.length > 0;
    gold.push({ ...r, relations: g });
    pred.push({ ...r, relations: p.map((x) => ({ ...x, source: 'model' as const })) });
  }
  return { gold, pred, hasGold, hasPredictions };
}

/**
 * Sets a whole record aside ("not sure, skip": `meta.ignored`, left out of training and
 * evaluation; `meta.ignoredBy` names the annotator when given), or takes it back (`on` false
 * removes both marks).
 */
export function ignoreRecord(record: RelRecord, on: boolean, annotator?: string): RelRecord {
  const { ignored: _, ignoredBy: _by, ...rest } = record.meta ?? {};
  const meta = on
    ? { ...rest, ignored: true, ...(annotator ? { ignoredBy: annotator } : {}) }
    : rest;
  const { meta: _m, ...base } = record;
  return Object.keys(meta).length ? { ...base, meta } : base;
}
