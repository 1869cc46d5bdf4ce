/** Evaluation entry points over canonical records (every importable format converts to them). */
import { labelToId } from '../formats/docred';
import { SEMEVAL_RELATIONS, semevalId, semevalLabelOf } from '../formats/semeval';
import {
  RelRecord,
  RelationSet,
  candidatePairs,
  isIgnoredRecord,
  isLive,
  unorderedPairKey,
} from '../schema';
import { Decision, NO_RELATION, confusionOf, decisionMembers, microScores } from './decisions';
import { DocGold, DocPred, scoreDocRed, trainFacts } from './docred';
import { scoreSemEval } from './semeval';
import { EvalMembers, EvalResult } from './types';

export * from './types';
export { scoreSemEval, parseAnswers, SEMEVAL_LABELS_19 } from './semeval';
export { scoreDocRed, trainFacts } from './docred';
export type { DocGold, DocPred } from './docred';

/**
 * What a curator set aside is not scored: records with `meta.ignored` (in either file) leave both
 * sides, and so do the pairs a relation of the gold record marks `ignored` (a sentence-level
 * record whose every pair is ignored leaves too).
 */
export function dropIgnored(
  gold: RelRecord[],
  pred: RelRecord[],
): { gold: RelRecord[]; pred: RelRecord[]; records: number; pairs: number } {
  const outIds = new Set([...gold, ...pred].filter(isIgnoredRecord).map((r) => r.id));
  const ignoredPairs = new Map<string, Set<string>>();
  let pairs = 0;
  for (const g of gold) {
    const set = new Set(
      g.relations
        .filter((x) => x.status === 'ignored')
        .map((x) => unorderedPairKey(x.head, x.tail)),
    );
    if (!set.size || outIds.has(g.id)) continue;
    ignoredPairs.set(g.id, set);
    if (g.pairs && g.pairs.every(([a, b]) => set.has(unorderedPairKey(a, b)))) outIds.add(g.id);
    else pairs += set.size;
  }
  const trim = (r: RelRecord): RelRecord => {
    const set = ignoredPairs.get(r.id);
    if (!set) return r;
    const keep = (a: string, b: string) => !set.has(unorderedPairKey(a, b));
    return {
      ...r,
      relations: r.relations.filter((x) => keep(x.head, x.tail)),
      ...(r.pairs ? { pairs: r.pairs.filter(([a, b]) => keep(a, b)) } : {}),
    };
  };
  return {
    gold: gold.filter((r) => !outIds.has(r.id)).map(trim),
    pred: pred.filter((r) => !outIds.has(r.id)).map(trim),
    records: outIds.size,
    pairs,
  };
}

function liveRelations(r: RelRecord, noRelation: string | null | undefined) {
  return r.relations.filter((x) => isLive(x) && x.label !== noRelation);
}

/** Decisions of one record: per listed pair (sentence level) or per related pair (document level). */
export function recordDecisions(
  gold: RelRecord | undefined,
  pred: RelRecord | undefined,
  noRelation?: string | null,
): Decision[] {
  const base = gold ?? pred!;
  const goldRels = gold ? liveRelations(gold, noRelation) : [];
  const predRels = pred ? liveRelations(pred, noRelation) : [];
  const out: Decision[] = [];
  if (base.pairs) {
    for (const [a, b] of candidatePairs(base)) {
      const labels = (rels: typeof goldRels) =>
        rels.flatMap((x) =>
          x.head === a && x.tail === b
            ? [x.label]
            : x.head === b && x.tail === a
              ? [`${x.label}(e2,e1)`]
              : [],
        );
      out.push({
        key: `${base.id}\u0000${a}\u0000${b}`,
        gold: labels(goldRels),
        pred: labels(predRels),
      });
    }
    return out;
  }
  const byPair = new Map<string, Decision>();
  const get = (h: string, t: string) => {
    const k = `${base.id}\u0000${h}\u0000${t}`;
    let d = byPair.get(k);
    if (!d) byPair.set(k, (d = { key: k, gold: [], pred: [] }));
    return d;
  };
  for (const x of goldRels) get(x.head, x.tail).gold.push(x.label);
  for (const x of predRels) get(x.head, x.tail).pred.push(x.label);
  return [...byPair.values()];
}

/** TACRED-style micro P/R/F1 over all labels except the no-relation label. */
export function evaluateMicro(gold: RelRecord[], pred: RelRecord[], rs?: RelationSet): EvalResult {
  const noRelation = rs?.noRelation ?? NO_RELATION;
  const predById = new Map(pred.map((r) => [r.id, r]));
  const goldIds = new Set(gold.map((r) => r.id));
  const decisions: Decision[] = [];
  let missing = 0;
  for (const g of gold) {
    const p = predById.get(g.id);
    if (!p) missing++;
    decisions.push(...recordDecisions(g, p, noRelation));
  }
  const unknown = pred.filter((p) => !goldIds.has(p.id));
  for (const p of unknown)
    decisions.push(...recordDecisions(undefined, p, noRelation).filter((d) => d.pred.length > 0));
  const m = microScores(decisions);
  const confusion = confusionOf(decisions, noRelation, rs?.labels.map((l) => l.name) ?? []);
  const warnings: string[] = [];
  if (missing)
    warnings.push(
      `${missing} gold record(s) have no prediction; they count as "no relation" predictions`,
    );
  if (unknown.length)
    warnings.push(
      `${unknown.length} predicted record(s) are not in the gold file; their relations count as wrong predictions`,
    );
  return {
    metric: 'micro',
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    per_relation: m.per,
    confusion,
    members: decisionMembers(decisions, confusion),
    counts: {
      decisions: decisions.length,
      correct: m.correct,
      predicted: m.guessed,
      gold: m.goldCount,
      missing_predictions: missing,
      unknown_predictions: unknown.length,
    },
    warnings,
  };
}

/** The SemEval id → 19-way label map of canonical records. */
export function semevalAnswers(records: RelRecord[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of records) {
    const id = semevalId(r);
    if (id === undefined)
      throw new Error(
        `record ${JSON.stringify(r.id)} has no SemEval id (meta.semevalId or a trailing number in its id)`,
      );
    const key = String(Number(id));
    if (out.has(key))
      throw new Error(`SemEval id ${key} appears twice (record ${JSON.stringify(r.id)})`);
    out.set(key, semevalLabelOf(r));
  }
  return out;
}

export function evaluateSemEval(
  gold: Map<string, string>,
  pred: Map<string, string>,
  predFile?: string,
): EvalResult {
  return scoreSemEval(pred, gold, predFile);
}

/** DocRED gold (titles, mention names, facts) from canonical records; labels mapped to relation ids when the set has them. */
export function docGoldOf(records: RelRecord[], rs?: RelationSet): DocGold[] {
  const toId = labelToId(rs);
  return records.map((r) => {
    const index = new Map(r.entities.map((e, i) => [e.id, i]));
    const entityNames = r.entities.map((e) => e.mentions.map((m) => m.name ?? e.name));
    // Annotated names that the text does not show (kept by the DocRED importer) are what the official scorer compares.
    const odd = r.meta?.['docredNames'];
    if (Array.isArray(odd))
      for (const x of odd)
        if (
          Array.isArray(x) &&
          typeof x[0] === 'number' &&
          typeof x[1] === 'number' &&
          typeof x[2] === 'string' &&
          entityNames[x[0]]?.[x[1]] !== undefined
        )
          entityNames[x[0]]![x[1]] = x[2];
    return {
      title: docTitle(r),
      entityNames,
      facts: liveRelations(r, rs?.noRelation).flatMap((x) => {
        const h = index.get(x.head);
        const t = index.get(x.tail);
        return h === undefined || t === undefined
          ? []
          : [{ h, t, r: toId(x.label), evidence: x.evidence ?? [] }];
      }),
    };
  });
}

export function docTitle(r: RelRecord): string {
  const t = r.meta?.['title'];
  return typeof t === 'string' ? t : r.id;
}

export function docPredsOf(records: RelRecord[], rs?: RelationSet): DocPred[] {
  return docGoldOf(records, rs).flatMap((d) =>
    d.facts.map((f) => ({ title: d.title, h_idx: f.h, t_idx: f.t, r: f.r, evidence: f.evidence })),
  );
}

/**
 * Predictions on gold documents' texts whose entities the system found itself (raw text, e.g.
 * extract-doc --text-only): each predicted entity is matched to a gold entity of the same
 * document — one with a mention at exactly the same span, else one with a mention of the same
 * normalized name — and its relations are re-indexed to the gold entities. A relation with an
 * unmatched entity stays in the precision denominator and is never correct.
 */
export function textPredsOf(
  gold: RelRecord[],
  pred: RelRecord[],
  rs?: RelationSet,
): { preds: DocPred[]; entities: number; matched: number } {
  const toId = labelToId(rs);
  const byId = new Map(gold.map((g) => [g.id, g]));
  const norm = (s: string) =>
    s
      .normalize('NFKC')
      .toLowerCase()
      .replace(/[\s\p{P}\p{S}]+/gu, ' ')
      .trim();
  const preds: DocPred[] = [];
  let entities = 0;
  let matched = 0;
  for (const p of pred) {
    const g = byId.get(p.id);
    const spans = new Map<string, number>();
    const names = new Map<string, number>();
    g?.entities.forEach((e, i) => {
      for (const m of e.mentions) {
        const k = `${m.start}:${m.end}`;
        if (!spans.has(k)) spans.set(k, i);
        const n = norm(g.text.slice(m.start, m.end));
        if (n && !names.has(n)) names.set(n, i);
      }
    });
    const index = new Map<string, number>();
    p.entities.forEach((e, i) => {
      entities++;
      let at: number | undefined;
      for (const m of e.mentions) at ??= spans.get(`${m.start}:${m.end}`);
      for (const m of e.mentions) at ??= names.get(norm(p.text.slice(m.start, m.end)));
      if (at !== undefined) matched++;
      index.set(e.id, at ?? 100_000 + i);
    });
    for (const x of liveRelations(p, rs?.noRelation)) {
      const h = index.get(x.head);
      const t = index.get(x.tail);
      if (h === undefined || t === undefined || h === t) continue;
      preds.push({ title: g ? docTitle(g) : docTitle(p), h_idx: h, t_idx: t, r: toId(x.label) });
    }
  }
  return { preds, entities, matched };
}

export function evaluateDocRed(gold: DocGold[], pred: DocPred[], train?: DocGold[]): EvalResult {
  return scoreDocRed(gold, pred, train ? trainFacts(train) : undefined);
}

export type MetricName = 'micro' | 'semeval' | 'docred';

/**
 * The one choice of metric for a relation set and its records (every entry point asks here, so
 * two buttons never score one file differently): the official SemEval score for SemEval's
 * relation set, DocRED's for document-level records under a set with Wikidata ids, else micro
 * P/R/F1 without the no-relation label. `override` wins.
 */
export function chooseMetric(
  rs: RelationSet | undefined,
  records: RelRecord[],
  override?: MetricName,
): MetricName {
  if (override) return override;
  if (rs?.name === SEMEVAL_RELATIONS.name) return 'semeval';
  const documentLevel =
    records.length > 0 && records.every((r) => !r.pairs && (r.sentences?.length ?? 0) > 0);
  if (documentLevel && rs?.labels.some((l) => l.id && /^P\d+$/.test(l.id))) return 'docred';
  return 'micro';
}

/** Scores predictions against gold records with the chosen metric. */
export function evaluateRecords(
  gold: RelRecord[],
  pred: RelRecord[],
  rs: RelationSet | undefined,
  metric: MetricName,
  predFile?: string,
): EvalResult {
  ({ gold, pred } = dropIgnored(gold, pred));
  let result: EvalResult;
  let unitOf: (r: RelRecord) => string | undefined;
  if (metric === 'semeval') {
    result = evaluateSemEval(semevalAnswers(gold), semevalAnswers(pred), predFile);
    unitOf = (r) => {
      const id = semevalId(r);
      return id === undefined ? undefined : String(Number(id));
    };
  } else if (metric === 'docred') {
    result = evaluateDocRed(docGoldOf(gold, rs), docPredsOf(pred, rs));
    unitOf = docTitle;
  } else {
    result = evaluateMicro(gold, pred, rs);
    unitOf = (r) => r.id;
  }
  if (result.members)
    result.members = membersAsRecordIds(result.members, [...gold, ...pred], unitOf);
  return result;
}

/** A metric's units (SemEval ids, document titles) in `members` turned into the records' ids. */
function membersAsRecordIds(
  m: EvalMembers,
  records: RelRecord[],
  unitOf: (r: RelRecord) => string | undefined,
): EvalMembers {
  const ids = new Map<string, string>();
  for (const r of records) {
    const u = unitOf(r);
    if (u !== undefined && !ids.has(u)) ids.set(u, r.id);
  }
  const map = (units: string[]) => units.map((u) => ids.get(u) ?? u);
  return {
    cells: m.cells.map((row) => row.map(map)),
    perRelation: Object.fromEntries(Object.entries(m.perRelation).map(([l, u]) => [l, map(u)])),
  };
}
