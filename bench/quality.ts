/**
 * Quality with the real small model (SmolLM2-135M-Instruct), on fixed samples:
 *  - SemEval-2010 Task 8: 500 test sentences (seeded sample), official score, for zero-shot,
 *    RAG k=5 (BM25 over the training split) and the nearest-neighbour vote (k=5);
 *  - FinRE and SanWen (CRE-LLM's datasets): 500 test sentences, micro-F1 (no-relation label
 *    "unknown" excluded), zero-shot (the CRE-LLM prompt, constrained generation) and kNN.
 * The model: $RELATION_LENS_MODEL (e.g. .cache/models/gemma-3-270m-q4_k_m.gguf), else SmolLM2.
 * Usage: npx tsx bench/quality.ts [--n 500] [--mode score|generate] [--answers names|codes]
 *        [--datasets semeval,finre,sanwen] (default semeval,finre) [--semeval-only]
 *        [--chinese-mode generate|score] [--json]
 */
import * as path from 'node:path';
import { evaluateMicro, evaluateSemEval, semevalAnswers } from '../src/core/eval';
import { ExtractedRecord, runSentenceExtraction } from '../src/core/pipelines/runner';
import { DecodeMode } from '../src/core/pipelines/sentence';
import { PromptTemplate } from '../src/core/prompts/template';
import { examplesFromRecords } from '../src/core/retrieval/examples';
import { TrainingRetriever } from '../src/core/retrieval/retriever';
import { Bm25Searcher } from '../src/core/retrieval/searchers';
import { RelRecord, RelationSet } from '../src/core/schema';
import { LlamaEngine } from '../src/engine/llama';
import { loadRecords } from '../src/node/load';
import { TEST_SAMPLE_SEED, sample } from './sample';
import { answerSpace } from '../src/core/pipelines/answerSpace';
import { CRE_LLM_TEMPLATE, DEFAULT_TEMPLATE, RAG4RE_TEMPLATE } from '../src/core/prompts/builtin';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.resolve(ROOT, '..', 'shared', 'datasets');
const MODEL =
  process.env['RELATION_LENS_MODEL'] ??
  path.join(ROOT, '.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};

async function run(
  engine: LlamaEngine | undefined,
  records: RelRecord[],
  rs: RelationSet,
  template: PromptTemplate,
  mode: DecodeMode,
  direction: 'label' | 'pair',
  retriever?: TrainingRetriever,
): Promise<{ preds: RelRecord[]; seconds: number }> {
  const space = answerSpace(rs, direction);
  const t0 = Date.now();
  const out: ExtractedRecord[] = [];
  for await (const r of runSentenceExtraction(engine, records, space, {
    relationSet: rs,
    template,
    mode,
    direction,
    retriever,
    k: 5,
    inFlight: 4,
    model: MODEL,
    scoreMargin: 1,
    answerCodes: arg('--answers', 'names') === 'codes',
  }))
    out.push(r);
  return { preds: out.map((r) => r.record), seconds: (Date.now() - t0) / 1000 };
}

type Row = {
  dataset: string;
  method: string;
  metric: string;
  precision: number;
  recall: number;
  f1: number;
  seconds: number;
};

/** Adds a table row (and prints it as it comes). */
function addRow(
  rows: Row[],
  row: Pick<Row, 'dataset' | 'method' | 'metric' | 'seconds'>,
  s: { precision: number; recall: number; f1: number },
): void {
  rows.push({ ...row, precision: s.precision, recall: s.recall, f1: s.f1 });
  process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
}

/** SemEval-2010 Task 8: zero-shot, RAG4RE k=5 and the kNN vote on n test sentences, official score. */
async function semeval(engine: LlamaEngine, n: number, mode: DecodeMode, rows: Row[]) {
  // SemEval-2010 Task 8
  const train = await loadRecords(path.join(DATA, 'semeval2010_task8', 'TRAIN_FILE.TXT'));
  const test = await loadRecords(path.join(DATA, 'semeval2010_task8', 'TEST_FILE_FULL.TXT'));
  const rs = test.relationSet!;
  const gold = sample(test.records, n, TEST_SAMPLE_SEED);
  const goldAnswers = semevalAnswers(gold);
  const space = answerSpace(rs, 'label');
  const examples = examplesFromRecords(train.records, rs.noRelation);
  const retriever = new TrainingRetriever(
    examples,
    Bm25Searcher.build(examples.map((e) => e.sentence)),
    space,
  );
  for (const [method, template, m, rag] of [
    [`zero-shot (${mode}, ${arg('--answers', 'names')})`, DEFAULT_TEMPLATE, mode, undefined],
    [`RAG4RE k=5, BM25 (${mode}, ${arg('--answers', 'names')})`, RAG4RE_TEMPLATE, mode, retriever],
    ['kNN vote k=5, BM25 (no LLM)', DEFAULT_TEMPLATE, 'knn', retriever],
  ] as const) {
    const r = await run(m === 'knn' ? undefined : engine, gold, rs, template, m, 'label', rag);
    const s = evaluateSemEval(goldAnswers, semevalAnswers(r.preds));
    addRow(
      rows,
      { dataset: `SemEval test (${n})`, method, metric: 'official macro-F1', seconds: r.seconds },
      s,
    );
  }
}

/** A Chinese dataset of CRE-LLM's (finre, sanwen): zero-shot and the kNN vote on n test sentences. */
async function chinese(engine: LlamaEngine, name: string, n: number, rows: Row[]) {
  const ftrain = await loadRecords(path.join(DATA, name, 'train.txt'));
  const ftest = await loadRecords(path.join(DATA, name, 'test.txt'));
  const frs = ftest.relationSet!;
  const fgold = sample(ftest.records, n, TEST_SAMPLE_SEED);
  const fspace = answerSpace(frs, 'pair');
  const fex = examplesFromRecords(ftrain.records, frs.noRelation);
  const fretriever = new TrainingRetriever(
    fex,
    Bm25Searcher.build(fex.map((e) => e.sentence)),
    fspace,
  );
  const fmode = arg('--chinese-mode', arg('--finre-mode', 'generate')) as DecodeMode;
  for (const [method, template, m, rag] of [
    [`zero-shot CRE-LLM prompt (${fmode})`, CRE_LLM_TEMPLATE, fmode, undefined],
    ['kNN vote k=5, BM25 (no LLM)', CRE_LLM_TEMPLATE, 'knn', fretriever],
  ] as const) {
    const r = await run(m === 'knn' ? undefined : engine, fgold, frs, template, m, 'pair', rag);
    const s = evaluateMicro(fgold, r.preds, frs);
    addRow(
      rows,
      {
        dataset: `${name === 'finre' ? 'FinRE' : 'SanWen'} test (${n})`,
        method,
        metric: 'micro-F1',
        seconds: r.seconds,
      },
      s,
    );
  }
}

async function main() {
  const n = Number(arg('--n', '500'));
  const mode = arg('--mode', 'score') as DecodeMode;
  const rows: Row[] = [];
  const engine = await LlamaEngine.open({ modelPath: MODEL, parallel: 4, contextSize: 2048 });
  try {
    const datasets = new Set(
      process.argv.includes('--semeval-only')
        ? ['semeval']
        : arg('--datasets', 'semeval,finre').split(','),
    );
    if (datasets.has('semeval')) await semeval(engine, n, mode, rows);
    // FinRE and SanWen: the CRE-LLM prompt, micro-F1 without the no-relation label "unknown".
    for (const name of ['finre', 'sanwen'])
      if (datasets.has(name)) await chinese(engine, name, n, rows);
  } finally {
    await engine.dispose();
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
  else {
    console.log(`model: ${MODEL}`);
    console.log(
      '| dataset | method | metric | P | R | F1 | time (s) |\n|---|---|---|---|---|---|---|',
    );
    for (const r of rows)
      console.log(
        `| ${r.dataset} | ${r.method} | ${r.metric} | ${(100 * r.precision).toFixed(2)} | ${(100 * r.recall).toFixed(2)} | ${(100 * r.f1).toFixed(2)} | ${r.seconds.toFixed(0)} |`,
      );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
