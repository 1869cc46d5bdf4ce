/**
 * The official SemEval-2010 Task 8 score, computed as its perl scorer (v1.2) does:
 * (9+1)-way classification with directionality taken into account, macro-averaged F1 over the
 * relations present in the answer key, Other excluded.
 *
 * The scorer's details reproduced here:
 *  - a prediction whose relation matches the key but whose direction is wrong is counted in a
 *    separate WRONG_DIR column: it is not a prediction *of* that relation in the column sums,
 *    but it is added back to the precision denominator of the key's relation;
 *  - precision is 0 when a relation was never predicted (with the right direction or a wrong
 *    relation); recall's denominator is the key's count, skipped examples included;
 *  - the macro average divides by the number of distinct non-Other relations in the key;
 *  - ids in the proposed file must exist in the key, ids may not repeat, and labels must be
 *    one of the 19 labels.
 */
import { InputError } from '../diagnostics';
import { ConfusionMatrix, EvalMembers, EvalResult, RelationScore, f1Of } from './types';
import { SEMEVAL_RELATIONS } from '../formats/semeval';

/** The nine relations, as the format defines them (the scorer's order). */
const RELATIONS = SEMEVAL_RELATIONS.labels.map((l) => l.name);
export const SEMEVAL_LABELS_19 = [
  ...RELATIONS.flatMap((r) => [`${r}(e1,e2)`, `${r}(e2,e1)`]),
  'Other',
];
const VALID = new Set(SEMEVAL_LABELS_19);

export interface AnswerLine {
  id: string;
  label: string;
  line: number;
}

/** Parses `ID<TAB>LABEL` lines as the perl scorer does (numeric id, one of the 19 labels, no repeats). */
export function parseAnswers(text: string, file: string): AnswerLine[] {
  const out: AnswerLine[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const m = /^(\d+)\t([^\r]+)$/.exec(line);
    if (!m)
      throw new InputError(
        `bad answer line ${JSON.stringify(line)} (expected ID<TAB>LABEL)`,
        file,
        i + 1,
      );
    const id = String(Number(m[1]));
    if (!VALID.has(m[2]!))
      throw new InputError(`unknown SemEval label ${JSON.stringify(m[2])}`, file, i + 1);
    if (seen.has(id)) throw new InputError(`id ${id} is already defined`, file, i + 1);
    seen.add(id);
    out.push({ id, label: m[2]!, line: i + 1 });
  });
  return out;
}

const noDir = (l: string) => l.replace(/\(e[12],e[12]\)$/, '');

/** The scorer's confusion counts: conf[proposed][answer], a right label in the wrong direction as WRONG_DIR. */
function tally(
  proposed: Map<string, string>,
  key: Map<string, string>,
  proposedFile: string,
): { conf: Map<string, Map<string, number>>; proposedCount: Map<string, number> } {
  const conf = new Map<string, Map<string, number>>(); // conf[proposed][answer]
  const proposedCount = new Map<string, number>();
  const inc = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
  for (const [id, labelP] of proposed) {
    const labelA = key.get(id);
    if (labelA === undefined)
      throw new InputError(`contains a bad ID: '${id}' (not in the answer key)`, proposedFile);
    const p = noDir(labelP);
    const a = noDir(labelA);
    const col = labelP === labelA || p !== a ? p : 'WRONG_DIR';
    if (!conf.has(col)) conf.set(col, new Map());
    inc(conf.get(col)!, a);
    inc(proposedCount, col);
  }
  return { conf, proposedCount };
}

/** Confusion matrix rows = key labels, columns = the merged label list (key first, then proposed-only). */
function confusionOf(
  answerLabels: string[],
  proposedCount: Map<string, number>,
  cell: (p: string, a: string) => number,
): ConfusionMatrix {
  const cols = [...answerLabels];
  for (const l of [...proposedCount.keys()].sort())
    if (l !== 'WRONG_DIR' && !cols.includes(l)) cols.push(l);
  return {
    labels: cols,
    noRelation: 'Other',
    matrix: cols.map((a) => cols.map((p) => cell(p, a))),
  };
}

/** The ids behind each confusion cell (as `tally` counts them) and each relation (key or proposed). */
function semevalMembers(
  proposed: Map<string, string>,
  key: Map<string, string>,
  labels: string[],
): EvalMembers {
  const index = new Map(labels.map((l, i) => [l, i]));
  const cells = labels.map(() => labels.map((): string[] => []));
  const perRelation: Record<string, string[]> = {};
  for (const [id, labelP] of proposed) {
    const labelA = key.get(id)!;
    const p = noDir(labelP);
    const a = noDir(labelA);
    const i = index.get(a);
    const j = index.get(labelP === labelA || p !== a ? p : 'WRONG_DIR');
    if (i !== undefined && j !== undefined) cells[i]![j]!.push(id);
    for (const l of new Set([p, a])) (perRelation[l] ??= []).push(id);
  }
  return { cells, perRelation };
}

export function scoreSemEval(
  proposed: Map<string, string>,
  key: Map<string, string>,
  proposedFile = 'predictions',
): EvalResult {
  for (const [id, label] of [...proposed, ...key])
    if (!VALID.has(label))
      throw new InputError(`unknown SemEval label ${JSON.stringify(label)} for id ${id}`);
  const { conf, proposedCount } = tally(proposed, key, proposedFile);
  const inc = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
  const cell = (p: string, a: string) => conf.get(p)?.get(a) ?? 0;
  const answerCount = new Map<string, number>();
  for (const label of key.values()) inc(answerCount, noDir(label));

  const answerLabels = [...answerCount.keys()].sort((x, y) =>
    sortKey(x) < sortKey(y) ? -1 : sortKey(x) > sortKey(y) ? 1 : 0,
  );
  const per: Record<string, RelationScore> = {};
  let macroF1 = 0;
  let macroP = 0;
  let macroR = 0;
  let microCorrect = 0;
  let microProposed = 0;
  let microAnswer = 0;
  for (const label of answerLabels) {
    const wrongDir = cell('WRONG_DIR', label);
    const correct = cell(label, label);
    const predicted = proposedCount.get(label) ?? 0;
    const gold = answerCount.get(label) ?? 0;
    const all = predicted + wrongDir;
    const P = predicted === 0 ? 0 : correct / all;
    const R = gold === 0 ? 0 : correct / gold;
    const F1 = f1Of(P, R);
    per[label] = { precision: P, recall: R, f1: F1, correct, predicted: all, gold };
    if (label !== 'Other') {
      macroP += P;
      macroR += R;
      macroF1 += F1;
      microCorrect += correct;
      microProposed += all;
      microAnswer += gold;
    }
  }
  const distinct = answerLabels.filter((l) => l !== 'Other').length;
  const microP = microProposed === 0 ? 0 : microCorrect / microProposed;
  const microR = microAnswer === 0 ? 0 : microCorrect / microAnswer;

  const confusion = confusionOf(answerLabels, proposedCount, cell);
  let correctTotal = 0;
  for (const l of answerLabels) correctTotal += cell(l, l);
  const skipped = key.size - proposed.size;
  return {
    members: semevalMembers(proposed, key, confusion.labels),
    metric: 'semeval',
    precision: distinct ? macroP / distinct : 0,
    recall: distinct ? macroR / distinct : 0,
    f1: distinct ? macroF1 / distinct : 0,
    per_relation: per,
    confusion,
    counts: {
      proposed: proposed.size,
      answer: key.size,
      skipped,
      wrong_direction: proposedCount.get('WRONG_DIR') ?? 0,
      correct: correctTotal,
      micro_precision: microP,
      micro_recall: microR,
      micro_f1: f1Of(microP, microR),
      accuracy: proposed.size ? correctTotal / proposed.size : 0,
    },
    warnings:
      skipped > 0
        ? [
            `${skipped} of ${key.size} key example(s) have no prediction: they count as misses in recall, as in the official scorer (score only the predicted examples with --only-predicted)`,
          ]
        : [],
  };
}

/** The perl scorer sorts labels as byte strings with Other renamed `_Other` (so it comes last). */
function sortKey(l: string): string {
  return l === 'Other' ? '_Other' : l;
}
