/** Results shared by every metric: fractions in [0, 1]. */
export interface RelationScore {
  precision: number;
  recall: number;
  f1: number;
  /** Correct predictions of the label. */
  correct: number;
  /** Predictions of the label (the precision denominator). */
  predicted: number;
  /** Gold instances of the label (the recall denominator). */
  gold: number;
}

export interface ConfusionMatrix {
  /** Row and column labels; `noRelation` stands for "no relation" (missed or spurious). */
  labels: string[];
  noRelation: string;
  /** matrix[gold][predicted] counts, in `labels` order. */
  matrix: number[][];
}

export interface EvalResult {
  metric: 'micro' | 'semeval' | 'docred';
  precision: number;
  recall: number;
  f1: number;
  ign_f1?: number;
  per_relation: Record<string, RelationScore>;
  confusion: ConfusionMatrix;
  /** Metric-specific counts (e.g. SemEval's wrong-direction and skipped counts). */
  counts: Record<string, number>;
  /** Problems that did not stop the evaluation (e.g. predictions for unknown ids). */
  warnings: string[];
  /** The records behind each confusion cell and each relation (editor evaluation; not in CLI output). */
  members?: EvalMembers;
}

/** Record ids (or, inside a metric, its units) behind the figures: what a click opens. */
export interface EvalMembers {
  /** cells[gold][predicted], in the confusion matrix's label order. */
  cells: string[][][];
  /** By relation label: the units with it in gold or prediction. */
  perRelation: Record<string, string[]>;
}

export function f1Of(p: number, r: number): number {
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
}
