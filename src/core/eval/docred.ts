/**
 * DocRED / Re-DocRED official evaluation (the `official_evaluate` of the DocRED repository):
 *  - predictions are de-duplicated on (title, h_idx, t_idx, r);
 *  - a prediction is correct when (title, r, h, t) is a gold fact; predictions for titles that
 *    are not in the gold file are skipped for correctness but stay in the precision denominator;
 *  - recall divides by the number of distinct gold facts;
 *  - Ign F1: correct facts whose (head mention name, tail mention name, r) — over all mention
 *    name pairs of the two entities — occur in the training file are removed from both the
 *    correct count and the precision denominator (the latter with the scorer's +1e-5); recall
 *    is left as is;
 *  - evidence P/R/F1 as the scorer computes them.
 */
import { Decision, confusionOf, decisionMembers, microScores } from './decisions';
import { EvalResult, f1Of } from './types';

export interface DocGold {
  title: string;
  /** Mention names of each entity, by entity index. */
  entityNames: string[][];
  facts: Array<{ h: number; t: number; r: string; evidence: number[] }>;
}

export interface DocPred {
  title: string;
  h_idx: number;
  t_idx: number;
  r: string;
  evidence?: number[];
}

/** The (head name, tail name, relation) facts of a training file, keyed for lookup. */
export function trainFacts(train: DocGold[]): Set<string> {
  const out = new Set<string>();
  for (const d of train)
    for (const f of d.facts)
      for (const n1 of d.entityNames[f.h] ?? [])
        for (const n2 of d.entityNames[f.t] ?? []) out.add(factKey(n1, n2, f.r));
  return out;
}

function factKey(a: string, b: string, r: string): string {
  return `${a}\u0000${b}\u0000${r}`;
}

/** Sorted and de-duplicated as the scorer does (its sort order does not change the result, only which evidence is kept). */
function distinctAnswers(predictions: DocPred[]): DocPred[] {
  const sorted = [...predictions].sort(
    (x, y) => cmp(x.title, y.title) || x.h_idx - y.h_idx || x.t_idx - y.t_idx || cmp(x.r, y.r),
  );
  const answers: DocPred[] = [];
  for (const p of sorted) {
    const q = answers[answers.length - 1];
    if (!q || q.title !== p.title || q.h_idx !== p.h_idx || q.t_idx !== p.t_idx || q.r !== p.r)
      answers.push(p);
  }
  return answers;
}

/** Gold and predicted labels per entity pair (per-relation scores and the confusion matrix). */
function pairDecisions(gold: DocGold[], answers: DocPred[]): Decision[] {
  const decisions = new Map<string, Decision>();
  const get = (k: string) => {
    let d = decisions.get(k);
    if (!d) decisions.set(k, (d = { key: k, gold: [], pred: [] }));
    return d;
  };
  for (const d of gold)
    for (const f of d.facts) get(`${d.title}\u0000${f.h}\u0000${f.t}`).gold.push(f.r);
  for (const x of answers) get(`${x.title}\u0000${x.h_idx}\u0000${x.t_idx}`).pred.push(x.r);
  return [...decisions.values()];
}

/** The scorer's gold index: evidence by (title, relation, head, tail), entity names by title, evidence count. */
function goldIndex(gold: DocGold[]): {
  std: Map<string, Set<number>>;
  titleEntities: Map<string, string[][]>;
  totEvidence: number;
} {
  const std = new Map<string, Set<number>>();
  const titleEntities = new Map<string, string[][]>();
  let totEvidence = 0;
  for (const d of gold) {
    titleEntities.set(d.title, d.entityNames);
    for (const f of d.facts) {
      std.set(`${d.title}\u0000${f.r}\u0000${f.h}\u0000${f.t}`, new Set(f.evidence));
      totEvidence += f.evidence.length;
    }
  }
  return { std, titleEntities, totEvidence };
}

export function scoreDocRed(
  gold: DocGold[],
  predictions: DocPred[],
  train?: Set<string>,
): EvalResult {
  const warnings: string[] = [];
  const { std, titleEntities, totEvidence } = goldIndex(gold);
  const totRelations = std.size;

  const answers = distinctAnswers(predictions);
  let correctRe = 0;
  let correctEvidence = 0;
  let predEvidence = 0;
  let correctInTrain = 0;
  const unknownTitles = new Set<string>();
  for (const x of answers) {
    const names = titleEntities.get(x.title);
    if (!names) {
      unknownTitles.add(x.title);
      continue;
    }
    const evi = new Set(x.evidence ?? []);
    predEvidence += evi.size;
    const stdEvi = std.get(`${x.title}\u0000${x.r}\u0000${x.h_idx}\u0000${x.t_idx}`);
    if (stdEvi) {
      correctRe++;
      for (const e of evi) if (stdEvi.has(e)) correctEvidence++;
      if (train) {
        let inTrain = false;
        for (const n1 of names[x.h_idx] ?? [])
          for (const n2 of names[x.t_idx] ?? [])
            if (train.has(factKey(n1, n2, x.r))) inTrain = true;
        if (inTrain) correctInTrain++;
      }
    }
  }
  if (unknownTitles.size)
    warnings.push(
      `${unknownTitles.size} predicted title(s) are not in the gold file; their predictions count as wrong (e.g. ${JSON.stringify([...unknownTitles][0])})`,
    );
  const reP = answers.length ? correctRe / answers.length : 0;
  const reR = totRelations ? correctRe / totRelations : 0;
  const reF1 = f1Of(reP, reR);
  const eviP = predEvidence > 0 ? correctEvidence / predEvidence : 0;
  const eviR = totEvidence > 0 ? correctEvidence / totEvidence : 0;
  const ignP = (correctRe - correctInTrain) / (answers.length - correctInTrain + 1e-5);
  const ignF1 = f1Of(ignP, reR);

  const dl = pairDecisions(gold, answers);
  const micro = microScores(dl);
  const confusion = confusionOf(dl);
  const result: EvalResult = {
    metric: 'docred',
    precision: reP,
    recall: reR,
    f1: reF1,
    per_relation: micro.per,
    confusion,
    members: decisionMembers(dl, confusion),
    counts: {
      predictions: predictions.length,
      distinct_predictions: answers.length,
      gold_facts: totRelations,
      correct: correctRe,
      evidence_precision: eviP,
      evidence_recall: eviR,
      evidence_f1: f1Of(eviP, eviR),
    },
    warnings,
  };
  if (train) {
    result.ign_f1 = ignF1;
    result.counts['correct_in_train'] = correctInTrain;
    result.counts['ign_precision'] = ignP;
  }
  return result;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
