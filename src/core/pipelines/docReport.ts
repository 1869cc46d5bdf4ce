/**
 * What a document run reports: counts of every stage (pairs kept, prompts, tokens, output
 * lines, triples, drops by reason) per document, and their sum over a file.
 */
export interface DocReport {
  id: string;
  entities: number;
  pairsIn: number;
  pairsKept: number;
  /** Gold pairs (pairs with a gold relation) and how many of them survived the candidate stage. */
  goldPairs: number;
  goldPairsKept: number;
  filter: string;
  threshold: number | null;
  prompts: number;
  promptTokens: number;
  /** Prompt tokens found in the KV cache (not evaluated again). */
  reusedTokens: number;
  /** Answer tokens: generated one by one, or (decoding walk) chosen and forced. */
  generatedTokens: number;
  /** Decoding walk: the evaluations where the model chose between allowed tokens. */
  scoredSteps: number;
  /** Prompt tokens of the LLM yes/no filter (filter: llm). */
  filterPromptTokens: number;
  windows: number;
  outputLines: number;
  malformedLines: number;
  truncatedOutputs: number;
  triples: number;
  noneAnswers: number;
  relations: number;
  /** Triples that repeat a relation already predicted for the document (kept once). */
  duplicates: number;
  /** Triples about a document pair the prompt did not ask for (kept: the pair exists). */
  outsidePrompt: number;
  /** Evidence sentence numbers given (in relations kept) and those ignored: not a sentence of the prompt. */
  evidenceGiven: number;
  evidenceIgnored: number;
  aligned: { entity: Record<string, number>; relation: Record<string, number> };
  dropped: Record<string, number>;
  /** The first few drops, for a person to read. */
  dropExamples: Array<{ prompt: number; line: number; text: string; reason: string }>;
  errors: string[];
}

export function emptyDocReport(id: string): DocReport {
  return {
    id,
    entities: 0,
    pairsIn: 0,
    pairsKept: 0,
    goldPairs: 0,
    goldPairsKept: 0,
    filter: 'none',
    threshold: null,
    prompts: 0,
    promptTokens: 0,
    reusedTokens: 0,
    generatedTokens: 0,
    scoredSteps: 0,
    filterPromptTokens: 0,
    windows: 0,
    outputLines: 0,
    malformedLines: 0,
    truncatedOutputs: 0,
    triples: 0,
    noneAnswers: 0,
    relations: 0,
    duplicates: 0,
    outsidePrompt: 0,
    evidenceGiven: 0,
    evidenceIgnored: 0,
    aligned: { entity: {}, relation: {} },
    dropped: {},
    dropExamples: [],
    errors: [],
  };
}

type NumericKey = {
  [K in keyof DocReport]-?: DocReport[K] extends number ? K : never;
}[keyof DocReport];
const NUMERIC_KEYS = (Object.keys(emptyDocReport('')) as Array<keyof DocReport>).filter(
  (k): k is NumericKey => typeof emptyDocReport('')[k] === 'number',
);

/** Adds n to a counter of a report's map. */
export const bump = (m: Record<string, number>, k: string, n = 1) => (m[k] = (m[k] ?? 0) + n);

/** Sums per-document reports (numbers add up; maps merge; examples and errors are capped). */
export function sumReports(reports: DocReport[]): Omit<DocReport, 'id'> & {
  documents: number;
  goldPairRecall: number | null;
  keptFraction: number;
} {
  const t = emptyDocReport('');
  for (const r of reports) {
    for (const k of NUMERIC_KEYS) t[k] += r[k];
    for (const [k, v] of Object.entries(r.aligned.entity)) bump(t.aligned.entity, k, v);
    for (const [k, v] of Object.entries(r.aligned.relation)) bump(t.aligned.relation, k, v);
    for (const [k, v] of Object.entries(r.dropped)) bump(t.dropped, k, v);
    if (t.dropExamples.length < 20)
      t.dropExamples.push(...r.dropExamples.slice(0, 20 - t.dropExamples.length));
    if (t.errors.length < 50) t.errors.push(...r.errors.slice(0, 50 - t.errors.length));
    t.filter = r.filter;
    t.threshold = r.threshold;
  }
  const { id: _unused, ...rest } = t;
  return {
    ...rest,
    documents: reports.length,
    goldPairRecall: t.goldPairs ? t.goldPairsKept / t.goldPairs : null,
    keptFraction: t.pairsIn ? t.pairsKept / t.pairsIn : 0,
  };
}
