/**
 * Decisions: for each candidate (an entity pair of a record), the gold labels and the predicted
 * labels (empty = no relation). Micro scores, per-relation scores and confusion matrices are
 * computed from them, whatever the task level.
 */
import { ConfusionMatrix, EvalMembers, RelationScore, f1Of } from './types';

export interface Decision {
  key: string;
  gold: string[];
  pred: string[];
}

export const NO_RELATION = 'no_relation';

/** TACRED scorer semantics (micro over all labels but "no relation"); multi-label pairs count each label. */
export function microScores(decisions: Decision[]): {
  precision: number;
  recall: number;
  f1: number;
  correct: number;
  guessed: number;
  goldCount: number;
  per: Record<string, RelationScore>;
} {
  const correct = new Map<string, number>();
  const guessed = new Map<string, number>();
  const gold = new Map<string, number>();
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const d of decisions) {
    const g = new Set(d.gold);
    const p = new Set(d.pred);
    for (const l of p) inc(guessed, l);
    for (const l of g) inc(gold, l);
    for (const l of p) if (g.has(l)) inc(correct, l);
  }
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const c = sum(correct);
  const gu = sum(guessed);
  const go = sum(gold);
  // As in the TACRED scorer: precision is 1 when nothing was guessed, recall 0 when there is no gold.
  const precision = gu > 0 ? c / gu : 1;
  const recall = go > 0 ? c / go : 0;
  const per: Record<string, RelationScore> = {};
  for (const l of [...new Set([...gold.keys(), ...guessed.keys()])].sort()) {
    const cc = correct.get(l) ?? 0;
    const pp = guessed.get(l) ?? 0;
    const gg = gold.get(l) ?? 0;
    const pr = pp > 0 ? cc / pp : 0;
    const rr = gg > 0 ? cc / gg : 0;
    per[l] = { precision: pr, recall: rr, f1: f1Of(pr, rr), correct: cc, predicted: pp, gold: gg };
  }
  return {
    precision,
    recall,
    f1: f1Of(precision, recall),
    correct: c,
    guessed: gu,
    goldCount: go,
    per,
  };
}

/**
 * The confusion-matrix cells a decision counts in, [gold, predicted]: matched labels on the
 * diagonal; one unmatched gold and one unmatched prediction on the same pair meet in one cell;
 * other leftovers meet "no relation".
 */
function cellsOf(d: Decision, noRelation: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const g = [...new Set(d.gold)];
  const p = [...new Set(d.pred)];
  const gs = new Set(g);
  const ps = new Set(p);
  for (const l of g) if (ps.has(l)) out.push([l, l]);
  const gl = g.filter((l) => !ps.has(l));
  const pl = p.filter((l) => !gs.has(l));
  if (gl.length === 1 && pl.length === 1) out.push([gl[0]!, pl[0]!]);
  else {
    for (const l of gl) out.push([l, noRelation]);
    for (const l of pl) out.push([noRelation, l]);
  }
  if (g.length === 0 && p.length === 0) out.push([noRelation, noRelation]);
  return out;
}

/** Confusion matrix over decisions (cells as `cellsOf` says). */
export function confusionOf(
  decisions: Decision[],
  noRelation = NO_RELATION,
  knownLabels: string[] = [],
): ConfusionMatrix {
  const cells = new Map<string, number>();
  const labels = new Set<string>(knownLabels);
  for (const d of decisions)
    for (const [g, p] of cellsOf(d, noRelation)) {
      labels.add(g);
      labels.add(p);
      const k = `${g}\u0000${p}`;
      cells.set(k, (cells.get(k) ?? 0) + 1);
    }
  labels.delete(noRelation);
  const order = [...[...labels].sort(), noRelation];
  const matrix = order.map((g) => order.map((p) => cells.get(`${g}\u0000${p}`) ?? 0));
  return { labels: order, noRelation, matrix };
}

/**
 * Which units (the first part of a decision's key: a record id, a document title) each cell of
 * `matrix` and each relation counts, in first-seen order: what a click on a cell or a relation
 * opens. A relation's units are those with it in gold or prediction.
 */
export function decisionMembers(decisions: Decision[], matrix: ConfusionMatrix): EvalMembers {
  const index = new Map(matrix.labels.map((l, i) => [l, i]));
  const cells = matrix.labels.map(() => matrix.labels.map(() => new Set<string>()));
  const perRelation = new Map<string, Set<string>>();
  for (const d of decisions) {
    const unit = d.key.split('\u0000')[0]!;
    for (const [g, p] of cellsOf(d, matrix.noRelation)) {
      const i = index.get(g);
      const j = index.get(p);
      if (i !== undefined && j !== undefined) cells[i]![j]!.add(unit);
    }
    for (const l of new Set([...d.gold, ...d.pred])) {
      let s = perRelation.get(l);
      if (!s) perRelation.set(l, (s = new Set()));
      s.add(unit);
    }
  }
  return {
    cells: cells.map((row) => row.map((s) => [...s])),
    perRelation: Object.fromEntries([...perRelation].map(([l, s]) => [l, [...s]])),
  };
}
